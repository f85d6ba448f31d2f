/// Bytes in memory as a `ByteSource`, handed out in small pieces so that readers' loops over partial reads run.
///
/// Used by the fuzz entry points to decode NPY without a file.
struct MemorySource: ByteSource {
    private let bytes: UnsafeRawBufferPointer
    private var offset = 0
    /// The most bytes one `read` returns.
    private let pieceSize: Int

    init(_ bytes: UnsafeRawBufferPointer, pieceSize: Int = 61) {
        self.bytes = bytes
        self.pieceSize = max(1, pieceSize)
    }

    var remaining: Int { bytes.count - offset }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, remaining, pieceSize)
        guard n > 0, let base = bytes.baseAddress, let target = buffer.baseAddress else { return 0 }
        target.copyMemory(from: base + offset, byteCount: n)
        offset += n
        return n
    }
}
