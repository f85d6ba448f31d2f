import ArgumentParser
import Foundation
import TensorIO

/// Runs a command the way every rnn-* tool does: a file problem is one line on stderr and exit status 2.
///
/// Usage errors keep swift-argument-parser's own message and status.
public enum CommandRunner {
    public static func main<Command: ParsableCommand>(_ command: Command.Type) -> Never {
        do {
            var parsed = try command.parseAsRoot()
            try parsed.run()
            exit(0)
        } catch let error as TensorFileError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            exit(2)
        } catch let error as CommandFailure {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            exit(error.status)
        } catch {
            command.exit(withError: error)
        }
    }
}

/// A failure a command reports with its own message and exit status.
public struct CommandFailure: Error {
    public var message: String
    public var status: Int32

    public init(_ message: String, status: Int32 = 2) {
        self.message = message
        self.status = status
    }
}
