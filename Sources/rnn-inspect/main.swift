import RNNCommands

CommandRunner.main(Inspect.self)
