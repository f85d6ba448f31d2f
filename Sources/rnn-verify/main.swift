import RNNCommands

CommandRunner.main(Verify.self)
