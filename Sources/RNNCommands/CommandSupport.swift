import Foundation
import Synchronization
import RNNKit
#if canImport(Glibc)
import Glibc
#endif

/// What the commands share: loading with errors that name the file, the overwrite rule, progress.
enum CommandSupport {
    /// Reads a tensor file; its errors already name the file. HDF5 is read in a worker process (this command
    /// started again in its worker mode), so a file that crashes or hangs libhdf5 is an error, not a crash.
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

    /// Throws unless `path` is free (nothing there, not even a dangling link) or `force` allows replacing it.
    ///
    /// This only fails early, before any work; the write itself refuses to replace at its final rename, so of
    /// two commands racing for one new file only one can win.
    static func checkOverwrite(_ path: String, force: Bool) throws {
        if !force, FileSystemPath.exists(path) { throw TensorFileError(path: path, problem: .alreadyExists) }
    }

    /// The size of a file in bytes, or 0.
    static func size(of path: String) -> Int { FileSystemPath.size(of: path) }

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

/// Prints one line of a command's result on standard output, its control characters escaped.
func printLine(_ line: String) {
    print(DisplayText.escaped(line))
}

/// Progress on stderr for long work: only when stderr is a terminal, the work is large, and not `--quiet`.
///
/// An error printed while a progress line is showing first ends that line (`Progress.endLine()`), so the
/// error starts a line of its own.
struct Progress {
    /// Whether a progress line is on the terminal now.
    private static let showing = Mutex(false)

    /// Ends a progress line that is showing (a line break after its text), so that what follows starts a line.
    static func endLine() {
        if showing.withLock({ shown in defer { shown = false }; return shown }) {
            FileHandle.standardError.write(Data("\n".utf8))
        }
    }

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
        FileHandle.standardError.write(Data("\r\u{1B}[K\(command): \(DisplayText.escaped(text))…".utf8))
        Self.showing.withLock { $0 = true }
    }

    /// Clears the progress line.
    func done() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        Self.showing.withLock { $0 = false }
    }
}
