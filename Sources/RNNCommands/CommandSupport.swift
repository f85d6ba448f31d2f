import Foundation
import RNNKit
#if canImport(Glibc)
import Glibc
#endif

/// What the commands share: loading with errors that name the file, the overwrite rule, progress.
enum CommandSupport {
    /// Reads a tensor file; its errors already name the file. HDF5 is read in a child process
    /// (`rnn-hdf5-worker`), so a file that crashes or hangs libhdf5 is an error, not a crash.
    static func read(_ path: String) throws -> StateDict {
        try TensorFile.read(contentsOf: URL(fileURLWithPath: path), isolatingHDF5: true)
    }

    /// Loads the RNN in `stateDict` (read from `path`), turning model errors into one line naming the file.
    static func model(_ stateDict: StateDict, from path: String, options: RNNLoadOptions) throws -> RNN {
        do {
            return try RNN(stateDict: stateDict, options: options)
        } catch let error as RNNLoadError {
            throw CommandFailure("\(path): \(error)")
        }
    }

    /// Throws unless `path` is free or `force` allows replacing it.
    static func checkOverwrite(_ path: String, force: Bool) throws {
        if !force, FileManager.default.fileExists(atPath: path) {
            throw CommandFailure("\(path): already exists (use --force to replace it)")
        }
    }

    /// Writes `stateDict` to `path` in the format of its extension, atomically.
    static func write(_ stateDict: StateDict, to path: String, compress: Bool = false) throws {
        try TensorFile.write(stateDict, to: URL(fileURLWithPath: path), options: WriteOptions(compress: compress))
    }

    /// The size of a file in bytes, or 0.
    static func size(of path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    /// `1234567` → "1.2 MB".
    static func bytes(_ count: Int) -> String {
        if count < 1000 { return "\(count) bytes" }
        let units = ["kB", "MB", "GB", "TB"]
        var value = Double(count) / 1000
        var unit = 0
        while value >= 1000, unit < units.count - 1 { value /= 1000; unit += 1 }
        return String(format: "%.1f %@", value, units[unit])
    }
}

/// Progress on stderr for long work: only when stderr is a terminal, the work is large, and not `--quiet`.
struct Progress {
    let enabled: Bool

    /// Progress for work on `bytes` bytes: shown from ~100 MB up.
    init(command: String, bytes: Int, quiet: Bool) {
        enabled = !quiet && bytes >= 100_000_000 && isatty(STDERR_FILENO) != 0
        self.command = command
    }

    private let command: String

    /// Shows `step` on the progress line.
    func step(_ text: String) {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K\(command): \(text)…".utf8))
    }

    /// Clears the progress line.
    func done() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
