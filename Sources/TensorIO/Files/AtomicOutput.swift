#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Writes a file so that readers see either the old file or the complete new one, never a part.
///
/// The bytes go to a temporary file in the destination's folder (so the final `rename` stays on one file
/// system); it is flushed to disk and renamed over the destination. On any error the temporary file is
/// removed and an existing destination is untouched.
enum AtomicOutput {
    /// Creates a temporary file beside `path`, lets `body` fill it, then renames it to `path`.
    ///
    /// `body` gets the open temporary file; libraries that insist on opening files themselves (libhdf5)
    /// use `temporaryPath` instead and leave the file closed when they return.
    static func write(to path: String, _ body: (OutputFile) throws -> Void) throws {
        let (fd, temporaryPath) = try makeTemporary(beside: path)
        defer { PendingTemporaryFiles.remove(temporaryPath) }
        let file = OutputFile(path: path, descriptor: fd)
        var open = true
        do {
            try body(file)
            guard fsync(fd) == 0 else { throw TensorFileError(path: path, problem: .io(systemMessage("cannot flush"))) }
            close(fd)
            open = false
            try commit(temporaryPath, to: path)
        } catch {
            if open { close(fd) }
            unlink(temporaryPath)
            throw error
        }
    }

    /// Like `write(to:_:)`, for writers that open the file by path: `body` gets the temporary path.
    static func write(to path: String, byPath body: (String) throws -> Void) throws {
        let (fd, temporaryPath) = try makeTemporary(beside: path)
        defer { PendingTemporaryFiles.remove(temporaryPath) }
        close(fd)
        do {
            try body(temporaryPath)
            let again = open(temporaryPath, O_RDONLY | O_CLOEXEC)
            if again >= 0 { fsync(again); close(again) }
            try commit(temporaryPath, to: path)
        } catch {
            unlink(temporaryPath)
            throw error
        }
    }

    private static func makeTemporary(beside path: String) throws -> (Int32, String) {
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard let (fd, temporaryPath) = makeUniqueFile(template: "\(folder).\(name).tmp-XXXXXX") else {
            throw TensorFileError(path: path, problem: .io(systemMessage("cannot create a temporary file beside it")))
        }
        fchmod(fd, 0o644 & ~currentUmask())
        PendingTemporaryFiles.add(temporaryPath)
        return (fd, temporaryPath)
    }

    private static func commit(_ temporaryPath: String, to path: String) throws {
        guard rename(temporaryPath, path) == 0 else {
            throw TensorFileError(path: path, problem: .io(systemMessage("cannot move the new file into place")))
        }
    }

    private static func currentUmask() -> mode_t {
        let mask = umask(0o022)
        umask(mask)
        return mask
    }
}

/// The open temporary file of an `AtomicOutput`: sequential writes plus positioned patches.
final class OutputFile {
    /// The destination path, for error messages.
    let path: String
    private let descriptor: Int32
    /// Bytes written so far (the next sequential write's offset).
    private(set) var position = 0

    init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    /// Appends `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try write(bytes, at: position)
        position += bytes.count
    }

    /// Appends `bytes`.
    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Overwrites bytes already written, at `offset`.
    func patch(_ bytes: [UInt8], at offset: Int) throws {
        try bytes.withUnsafeBytes { try write($0, at: offset) }
    }

    private func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(descriptor, bytes.baseAddress! + done, min(bytes.count - done, 1 << 30), off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw TensorFileError(path: path, problem: .io(systemMessage("write failed")))
            }
            done += n
        }
    }
}

/// The temporary files being written right now, so that an interrupted program can remove them.
///
/// The commands call `removeAll()` when they get SIGINT or SIGTERM: Ctrl-C during a conversion leaves neither
/// a partial file nor a stray temporary one.
public enum PendingTemporaryFiles {
    private static let paths = Mutex<Set<String>>([])

    static func add(_ path: String) { paths.withLock { _ = $0.insert(path) } }
    static func remove(_ path: String) { paths.withLock { _ = $0.remove(path) } }

    /// Deletes every temporary file still being written.
    public static func removeAll() {
        paths.withLock { set in
            for path in set { unlink(path) }
            set.removeAll()
        }
    }
}
