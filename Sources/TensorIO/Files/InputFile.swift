import CPlatform
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file opened for reading with positioned reads, so that data goes straight into tensor buffers.
///
/// Every read is bounds-checked against the size the file had when opened; a short read is a `truncated`
/// error naming the file, never a partial buffer.
final class InputFile {
    let path: String
    let size: Int
    /// The open descriptor (handed to the HDF5 worker as its input).
    let descriptor: Int32

    /// True for bytes held in memory (`init(bytes:name:)`): `path` is only a name for errors.
    let isInMemory: Bool

    /// A path that opens this very file again, `/proc/self/fd/N`, for libraries that open files by name; the
    /// path itself where /proc is not mounted.
    var descriptorPath: String {
        access("/proc/self/fd", X_OK) == 0 ? "/proc/self/fd/\(descriptor)" : path
    }

    /// `descriptorPath`, or an error for bytes in memory where /proc is not mounted (they have no other path).
    func openingPath() throws -> String {
        if isInMemory, access("/proc/self/fd", X_OK) != 0 {
            throw TensorFileError(path: path, problem: .io("HDF5 from bytes needs /proc/self/fd, which is not mounted here: write the bytes to a file and read that"))
        }
        return descriptorPath
    }

    /// Opens `path` (kept as bytes: see `FileSystemPath`). Anything but a regular file (a FIFO, a device, a
    /// folder) is refused before a byte is read: the open is non-blocking, so a FIFO with no writer cannot hang it.
    init(path: String) throws {
        let fd = FileSystemPath.withCString(path) { open($0, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY) }
        guard fd >= 0 else { throw TensorFileError(path: path, problem: .io(systemMessage("cannot open"))) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            close(fd)
            throw TensorFileError(path: path, problem: .io(systemMessage("cannot stat")))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            let type = info.st_mode & S_IFMT
            throw TensorFileError(path: path, problem: .io(type == S_IFDIR ? "is a directory, not a file" : "is \(fileTypeName(type)), not a regular file"))
        }
        // Regular files ignore O_NONBLOCK; clear it anyway so that reads behave as documented.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        self.path = path
        self.descriptor = fd
        self.size = Int(info.st_size)
        isInMemory = false
    }

    /// A file in memory holding `bytes` (memfd_create), named `name` in errors: every reader then works on
    /// bytes as on a file (libhdf5 through `descriptorPath`, as an image of the bytes: HDF5Reader). The bytes are
    /// copied once, into pages the kernel frees when this closes.
    init(bytes: UnsafeRawBufferPointer, name: String) throws {
        let fd = rnn_memory_file("rnn-bytes")
        guard fd >= 0 else { throw TensorFileError(path: name, problem: .io(systemMessage("cannot hold the bytes in memory"))) }
        do { try OutputFile(path: name, descriptor: fd).write(bytes) } catch {
            close(fd)
            throw error
        }
        self.path = name
        self.descriptor = fd
        self.size = bytes.count
        isInMemory = true
    }

    deinit { close(descriptor) }

    /// The last component of `path` without its extension: the name an NPY file's tensor takes, and a bare
    /// tensor's in a checkpoint.
    var stem: String { URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent }

    /// Fills `buffer` with the bytes at `offset`; throws `truncated` if the file ends first.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws {
        guard buffer.count > 0 else { return }
        var done = 0
        while done < buffer.count {
            let chunk = min(buffer.count - done, 1 << 30)
            let n = pread(descriptor, buffer.baseAddress! + done, chunk, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw TensorFileError(path: path, problem: .io(systemMessage("read failed")))
            }
            if n == 0 { throw TensorFileError(path: path, problem: .truncated(expected: offset + buffer.count, found: offset + done)) }
            done += n
        }
    }

    /// The `count` bytes at `offset`; throws `truncated` if the file ends first.
    func bytes(at offset: Int, count: Int) throws -> [UInt8] {
        guard offset >= 0, count >= 0, offset <= size, count <= size - offset else {
            throw TensorFileError(path: path, problem: .truncated(expected: offset &+ count, found: size))
        }
        var result = [UInt8](repeating: 0, count: count)
        try result.withUnsafeMutableBytes { try read(into: $0, at: offset) }
        return result
    }
}

/// `prefix` followed by the C library's description of `errno`.
func systemMessage(_ prefix: String) -> String {
    "\(prefix): \(String(cString: strerror(errno)))"
}

extension InputFile {
    /// Fills `buffer` with the bytes at `offset` in pieces of `pieceSize`, calling `visit` with each piece's index
    /// and bytes right after reading it (while it is in cache); large buffers are read on all cores at once.
    ///
    /// Pieces may be read in any order and at the same time, so `visit` must only touch what belongs to its
    /// piece. Throws `truncated` (or `io`) as `read(into:at:)` does, for the first piece that failed.
    func read(
        into buffer: UnsafeMutableRawBufferPointer, at offset: Int, pieceSize: Int,
        visit: (Int, UnsafeRawBufferPointer) -> Void
    ) throws {
        let pieces = (buffer.count + pieceSize - 1) / pieceSize
        func piece(_ index: Int) throws {
            let start = index * pieceSize
            let part = UnsafeMutableRawBufferPointer(rebasing: buffer[start..<min(start + pieceSize, buffer.count)])
            do { try read(into: part, at: offset + start) } catch let error as TensorFileError {
                // Say what the whole read expected, as one read would.
                guard case .truncated(_, let found) = error.problem else { throw error }
                throw TensorFileError(path: path, problem: .truncated(expected: offset + buffer.count, found: found))
            }
            visit(index, UnsafeRawBufferPointer(part))
        }
        // Smaller buffers are read on this thread: a few pieces gain little from others.
        guard buffer.count >= Self.concurrentReadThreshold, pieces > 1 else {
            for index in 0..<pieces { try piece(index) }
            return
        }
        var failures = [TensorFileError?](repeating: nil, count: pieces)
        failures.withUnsafeMutableBufferPointer { failures in
            performConcurrently(iterations: pieces) { index in
                do { try piece(index) } catch {
                    failures[index] = error as? TensorFileError
                        ?? TensorFileError(path: path, problem: .io("read failed: \(error)"))
                }
            }
        }
        if let failure = failures.lazy.compactMap({ $0 }).first { throw failure }
    }

    /// Buffers at least this large are read on several threads by `read(into:at:pieceSize:visit:)`.
    static let concurrentReadThreshold = 8 << 20
}

/// Calls `body` with every index in `0..<iterations`, on all cores at once (Dispatch's `concurrentPerform`).
///
/// `body` is not required to be `@Sendable`: each call must touch only what belongs to its own index (a slot of
/// a preallocated result buffer, a range of a tensor), and the calls have all returned when this returns.
func performConcurrently(iterations: Int, _ body: (Int) -> Void) {
    withoutActuallyEscaping(body) { body in
        let shared = UncheckedSendable(value: body)
        DispatchQueue.concurrentPerform(iterations: iterations) { shared.value($0) }
    }
}

/// A value handed to concurrent code whose caller guarantees that the uses do not race.
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
}

/// Creates a new empty file named `prefix` + six random characters in `folder` ("" or ending in "/"), as
/// mkstemp(3) does; returns its open descriptor and its path, or nil with errno set.
func makeUniqueFile(folder: String, prefix: String) -> (descriptor: Int32, path: String)? {
    var bytes = (FileSystemPath.bytes(folder) + Array(prefix.utf8) + Array("XXXXXX".utf8)).map { CChar(bitPattern: $0) }
    bytes.append(0)
    let fd = bytes.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard fd >= 0 else { return nil }
    let random = String(decoding: bytes.dropLast().suffix(6).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return (fd, folder + prefix + random)
}
