import RNNCommands

CommandRunner.main(Run.self)
