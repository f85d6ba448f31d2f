#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CPlatform
import Synchronization

/// Writes a file so that readers see either the old file or the complete new one, never a part. Every writer
/// of the package goes through it (NPY, NPZ, HDF5, safetensors, ONNX).
///
/// The bytes go to a temporary file with a short fixed-length name (`.rnn-XXXXXX`) in the destination's folder,
/// so the final rename stays on one file system and a destination name of up to 255 bytes still works. The
/// temporary file is flushed and renamed over the destination; on any error it is removed and an existing
/// destination is untouched. The rules for what is already there:
/// - Without `replacing`, any existing path (a dangling symbolic link included) is an `alreadyExists` error, and
///   the final rename itself refuses to replace (`renameat2(RENAME_NOREPLACE)`, or `link` + `unlink` where the
///   file system lacks it), so of several writers racing for one new path exactly one wins.
/// - With `replacing`, a symbolic link is followed (to its final target, even a dangling one) and the target is
///   replaced atomically; the link stays, as editors do it. The new file takes the mode (and, where allowed, the
///   owner) of the file it replaces; a new file gets 0666 less the umask, as `open(2)` would give it.
/// - A directory, FIFO, socket or device at the destination is never replaced.
package enum AtomicOutput {
    /// Creates a temporary file beside `path`, lets `body` fill it, then renames it to `path`.
    ///
    /// `body` gets the open temporary file; libraries that insist on opening files themselves (libhdf5)
    /// use `write(to:replacing:byPath:)` instead.
    package static func write(to path: String, replacing: Bool = true, _ body: (OutputFile) throws -> Void) throws {
        let destination = try Destination(path, replacing: replacing)
        let (fd, temporaryPath) = try destination.makeTemporary()
        defer { PendingTemporaryFiles.remove(temporaryPath) }
        let file = OutputFile(path: path, descriptor: fd)
        var open = true
        do {
            try body(file)
            guard fsync(fd) == 0 else { throw TensorFileError(path: path, problem: .io(systemMessage("cannot flush"))) }
            close(fd)
            open = false
            try destination.commit(temporaryPath)
        } catch {
            if open { close(fd) }
            unlinkPath(temporaryPath)
            throw error
        }
    }

    /// Like `write(to:replacing:_:)`, for writers that open the file by path: `body` gets the temporary path
    /// (pass it to C through `FileSystemPath.withCString`).
    package static func write(to path: String, replacing: Bool = true, byPath body: (String) throws -> Void) throws {
        let destination = try Destination(path, replacing: replacing)
        let (fd, temporaryPath) = try destination.makeTemporary()
        defer { PendingTemporaryFiles.remove(temporaryPath) }
        close(fd)
        do {
            try body(temporaryPath)
            let again = FileSystemPath.withCString(temporaryPath) { open($0, O_RDONLY | O_CLOEXEC) }
            if again >= 0 { fsync(again); close(again) }
            try destination.commit(temporaryPath)
        } catch {
            unlinkPath(temporaryPath)
            throw error
        }
    }

    /// Where the bytes of a write to `path` land, and what is there now.
    private struct Destination {
        /// The path as the caller gave it, for errors.
        let path: String
        /// `path`, or the final target of the symbolic link at `path`.
        let target: String
        let replacing: Bool
        /// The mode and owner of the file being replaced, if one is.
        let existing: (mode: mode_t, owner: uid_t, group: gid_t)?

        init(_ path: String, replacing: Bool) throws {
            self.path = path
            self.replacing = replacing
            var target = path
            var info = stat()
            var status = lstatPath(target, &info)
            if status == 0, !replacing { throw TensorFileError(path: path, problem: .alreadyExists) }
            var hops = 0
            while status == 0, (info.st_mode & S_IFMT) == S_IFLNK {
                hops += 1
                guard hops <= 40, let next = readLink(target) else {
                    throw TensorFileError(path: path, problem: .io("cannot follow the symbolic link (a loop, or it cannot be read)"))
                }
                target = next.hasPrefix("/") ? next : folder(of: target) + next
                status = lstatPath(target, &info)
            }
            if status != 0 && errno != ENOENT {
                throw TensorFileError(path: path, problem: .io(systemMessage("cannot look at the destination")))
            }
            if status == 0 {
                let type = info.st_mode & S_IFMT
                guard type == S_IFREG else {
                    throw TensorFileError(path: path, problem: .io("\(fileTypeName(type)) is in the way; it is never replaced"))
                }
                existing = (info.st_mode & 0o7777, info.st_uid, info.st_gid)
            } else {
                existing = nil
            }
            self.target = target
        }

        /// A new empty file beside the target, with the mode the result will have.
        func makeTemporary() throws -> (Int32, String) {
            let folder = folder(of: target)
            guard let (fd, temporaryPath) = makeUniqueFile(folder: folder, prefix: ".rnn-") else {
                throw TensorFileError(path: path, problem: .io(systemMessage("cannot create a temporary file beside it")))
            }
            if let existing {
                _ = fchown(fd, existing.owner, existing.group)  // allowed for root, or to one's own group
                fchmod(fd, existing.mode)
            } else {
                fchmod(fd, 0o666 & ~processUmask)
            }
            PendingTemporaryFiles.add(temporaryPath)
            return (fd, temporaryPath)
        }

        /// Moves the finished temporary file into place, refusing to replace unless `replacing`.
        func commit(_ temporaryPath: String) throws {
            let moved = FileSystemPath.withCString(temporaryPath) { from in
                FileSystemPath.withCString(target) { to -> Int32 in
                    if replacing { return rename(from, to) }
                    if rnn_rename_noreplace(from, to) == 0 { return 0 }
                    guard errno == EINVAL || errno == ENOSYS else { return -1 }
                    // No RENAME_NOREPLACE on this file system: link(2) refuses an existing name just as well.
                    guard link(from, to) == 0 else { return -1 }
                    unlink(from)
                    return 0
                }
            }
            if moved != 0 {
                if errno == EEXIST { throw TensorFileError(path: path, problem: .alreadyExists) }
                throw TensorFileError(path: path, problem: .io(systemMessage("cannot move the new file into place")))
            }
            // The rename is durable once the folder is flushed.
            let folder = folder(of: target)
            let folderDescriptor = FileSystemPath.withCString(folder.isEmpty ? "." : folder) {
                open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            }
            if folderDescriptor >= 0 { fsync(folderDescriptor); close(folderDescriptor) }
        }
    }

    /// The folder part of `path` with its trailing slash ("" for a bare name).
    private static func folder(of path: String) -> String {
        path.lastIndex(of: "/").map { String(path[...$0]) } ?? ""
    }

    private static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = FileSystemPath.withCString(path) { readlink($0, &buffer, buffer.count - 1) }
        guard count > 0 else { return nil }
        return FileSystemPath.string(fromBytes: buffer.prefix(count).map { UInt8(bitPattern: $0) })
    }

    /// The umask, read once without changing it (`umask(2)` can only be read by setting it, which races with
    /// other threads creating files).
    private static let processUmask: mode_t = {
        if let text = readSmallFile("/proc/self/status"),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Umask:") }),
           let value = mode_t(line.dropFirst(6).trimmingPrefix(while: \.isWhitespace), radix: 8) {
            return value
        }
        let mask = umask(0o022)
        umask(mask)
        return mask
    }()
}

/// `lstat(2)` of a path kept as bytes.
func lstatPath(_ path: String, _ info: inout stat) -> Int32 {
    FileSystemPath.withCString(path) { lstat($0, &info) }
}

/// `unlink(2)` of a path kept as bytes.
func unlinkPath(_ path: String) {
    _ = FileSystemPath.withCString(path) { unlink($0) }
}

/// What a file of type `type` (`st_mode & S_IFMT`) is called in errors: "a directory", "a FIFO", ….
func fileTypeName(_ type: mode_t) -> String {
    switch type {
    case S_IFDIR: "a directory"
    case S_IFIFO: "a FIFO"
    case S_IFSOCK: "a socket"
    case S_IFCHR: "a character device"
    case S_IFBLK: "a block device"
    case S_IFLNK: "a symbolic link"
    default: "not a regular file"
    }
}

/// The whole of a small file of the system (/proc), or nil.
private func readSmallFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 8192)
    let count = read(fd, &buffer, buffer.count)
    return count > 0 ? String(decoding: buffer.prefix(count), as: UTF8.self) : nil
}

/// The open temporary file of an `AtomicOutput`: sequential writes plus positioned patches.
package final class OutputFile {
    /// The destination path, for error messages.
    package let path: String
    private let descriptor: Int32
    /// Bytes written so far (the next sequential write's offset).
    package private(set) var position = 0

    init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    /// Appends `bytes`.
    package func write(_ bytes: UnsafeRawBufferPointer) throws {
        try write(bytes, at: position)
        position += bytes.count
    }

    /// Appends `bytes`.
    package func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Overwrites bytes already written, at `offset`.
    package func patch(_ bytes: [UInt8], at offset: Int) throws {
        try bytes.withUnsafeBytes { try write($0, at: offset) }
    }

    private func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(descriptor, bytes.baseAddress! + done, min(bytes.count - done, 1 << 30), off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw TensorFileError(path: path, problem: .io(systemMessage("cannot write")))
            }
            done += n
        }
    }
}

/// The temporary files being written right now, so that an interrupted program can remove them.
///
/// The commands call `removeAll()` when they get SIGINT or SIGTERM: Ctrl-C during a conversion leaves neither
/// a partial file nor a stray temporary one.
package enum PendingTemporaryFiles {
    private static let paths = Mutex<Set<String>>([])

    static func add(_ path: String) { paths.withLock { _ = $0.insert(path) } }
    static func remove(_ path: String) { paths.withLock { _ = $0.remove(path) } }

    /// Deletes every temporary file still being written.
    package static func removeAll() {
        paths.withLock { set in
            for path in set { unlinkPath(path) }
            set.removeAll()
        }
    }
}
