import Foundation
import Synchronization
import Testing
import TestSupport

/// The exit status, standard output and standard error of a command run to completion.
struct CommandResult {
    let status: Int32
    let output: String
    let error: String
}

/// Runs the built executable `name` with `arguments`.
func run(_ name: String, _ arguments: [String], in folder: URL? = nil) throws -> CommandResult {
    try runProcess(Repository.executable(name), arguments, in: folder)
}

/// Runs `sh -c script arguments…` (so `$0`, `$1`… are the arguments) in `folder`.
func runShell(_ script: String, _ arguments: String..., in folder: URL? = nil) throws -> CommandResult {
    try runProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", script] + arguments, in: folder)
}

/// Runs `executable` to completion, reading its standard error on another thread while it runs, so that a
/// command that writes much to both cannot block on a full pipe.
func runProcess(_ executable: URL, _ arguments: [String], in folder: URL? = nil) throws -> CommandResult {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let folder { process.currentDirectoryURL = folder }
    let output = Pipe(), error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    let errorData = Mutex(Data())
    let reading = DispatchGroup()
    reading.enter()
    Thread {
        let data = error.fileHandleForReading.readDataToEndOfFile()
        errorData.withLock { $0 = data }
        reading.leave()
    }.start()
    let outData = output.fileHandleForReading.readDataToEndOfFile()
    reading.wait()
    process.waitUntilExit()
    return CommandResult(status: process.terminationStatus, output: String(decoding: outData, as: UTF8.self),
                         error: String(decoding: errorData.withLock { $0 }, as: UTF8.self))
}
