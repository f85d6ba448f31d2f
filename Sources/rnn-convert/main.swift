import RNNCommands

CommandRunner.main(Convert.self)
