import Foundation
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
    let process = Process()
    process.executableURL = try Repository.executable(name)
    process.arguments = arguments
    if let folder { process.currentDirectoryURL = folder }
    let output = Pipe(), error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    let outData = output.fileHandleForReading.readDataToEndOfFile()
    let errData = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CommandResult(status: process.terminationStatus, output: String(decoding: outData, as: UTF8.self),
                         error: String(decoding: errData, as: UTF8.self))
}
