#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file in the temporary folder that the fuzz entry points overwrite with each input, for the readers
/// that work on files (zip directories, safetensors headers); removed when the process exits normally.
struct FuzzScratchFile {
    let path: String

    /// A path unique to this process and `label`.
    init(label: String) {
        let folder = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        path = "\(folder)/tensorio-fuzz-\(getpid())-\(label)"
    }

    /// Replaces the file's contents with `bytes`; false if the file cannot be written (the input is then skipped).
    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            #if canImport(Glibc)
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            #else
            let n = Darwin.write(fd, bytes.baseAddress! + done, bytes.count - done)
            #endif
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return false }
            done += n
        }
        return true
    }

    func remove() { unlink(path) }
}
