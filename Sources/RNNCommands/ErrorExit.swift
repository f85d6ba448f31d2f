import ArgumentParser
import Foundation
import TensorIO

/// Runs a command the way every rnn-* tool does: a file problem is one line on stderr and exit status 2.
///
/// Usage errors keep swift-argument-parser's own message and status.
public enum CommandRunner {
    public static func main<Command: ParsableCommand>(_ command: Command.Type) -> Never {
        // Every command is its own HDF5 worker: started with the hidden worker argument, it reads and exits here.
        HDF5Isolation.serveIfRequested()
        // A write past a file-size limit must fail with EFBIG (and clean up), not kill the process.
        signal(SIGXFSZ, SIG_IGN)
        // Interrupted: remove the temporary file being written, leave any old destination as it was.
        var sources: [DispatchSourceSignal] = []
        for interruption in [SIGINT, SIGTERM] {
            signal(interruption, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: interruption, queue: .global())
            source.setEventHandler { endInterrupted(by: interruption) }
            source.resume()
            sources.append(source)
        }
        defer { withExtendedLifetime(sources) {} }
        do {
            // The arguments with every byte kept: a file name that is not UTF-8 must still open.
            var parsed = try command.parseAsRoot(FileSystemPath.arguments)
            try parsed.run()
            finish(0)
        } catch let error as TensorFileError {
            // The same Ctrl-C reached this process; end as its handler does, whichever comes first.
            if case .interrupted(let signal) = error.problem { endInterrupted(by: signal) }
            if case .alreadyExists = error.problem {
                report("\(error.path): already exists (use --force to replace it)")
            } else {
                report(error.description)
            }
            finish(2)
        } catch let error as CommandFailure {
            report(error.message)
            finish(error.status)
        } catch {
            Progress.endLine()
            command.exit(withError: error)
        }
    }
}

/// Ends the process after SIGINT or SIGTERM: stops the HDF5 workers, removes the temporary file being written
/// (any old destination stays as it was) and exits with 128 + the signal's number, as a shell reports it.
private func endInterrupted(by signal: Int32) -> Never {
    HDF5Isolation.stopWorkers()
    PendingTemporaryFiles.removeAll()
    finish(128 + signal)
}

/// Prints `message` as the one line `error: …` on stderr, after ending a progress line; its control
/// characters (from a file's names or metadata) are escaped.
private func report(_ message: String) {
    Progress.endLine()
    FileHandle.standardError.write(Data("error: \(DisplayText.escaped(message))\n".utf8))
}

/// Flushes the output and ends the process without running exit handlers.
///
/// libhdf5 registers an exit handler that flushes the files it still knows; after a failed write (a full disk)
/// that handler crashes in libhdf5 1.10. Every file we write is closed or removed by then, so skipping exit
/// handlers loses nothing.
func finish(_ status: Int32) -> Never {
    fflush(nil)
    _exit(status)
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
