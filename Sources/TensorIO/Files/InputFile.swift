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
    private let descriptor: Int32

    init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw TensorFileError(path: path, problem: .io(systemMessage("cannot open"))) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            close(fd)
            throw TensorFileError(path: path, problem: .io(systemMessage("cannot stat")))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw TensorFileError(path: path, problem: .io("not a regular file"))
        }
        self.path = path
        self.descriptor = fd
        self.size = Int(info.st_size)
    }

    deinit { close(descriptor) }

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
