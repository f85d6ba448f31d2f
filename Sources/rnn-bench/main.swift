import RNNCommands

CommandRunner.main(Bench.self)
