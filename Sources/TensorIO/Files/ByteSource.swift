/// A sequential source of bytes: a region of a file, or a zip entry being inflated.
///
/// The NPY decoder reads through this, so that the same code fills a tensor from a `.npy` file and from a
/// compressed `.npz` entry without an intermediate copy.
protocol ByteSource {
    /// Reads up to `buffer.count` bytes into `buffer`; returns how many, 0 only at the end.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// How many bytes the source declares it still holds (checked before any large allocation).
    var remaining: Int { get }
    /// All the bytes left, as 64-byte aligned tensor storage, when the source already holds them in memory (an
    /// inflated zip entry) so that they need not be copied; nil otherwise, and then nothing is consumed.
    mutating func takeRemainingStorage() -> TensorStorage?
}

extension ByteSource {
    mutating func takeRemainingStorage() -> TensorStorage? { nil }

    /// Fills `buffer` completely; returns the number of bytes read, which is less only at the end of the source.
    mutating func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]))
            if n == 0 { break }
            done += n
        }
        return done
    }
}

/// The bytes `[offset, offset + count)` of a file, read with positioned reads.
struct FileRegion: ByteSource {
    let file: InputFile
    private(set) var offset: Int
    let end: Int

    init(file: InputFile, offset: Int = 0, count: Int? = nil) {
        self.file = file
        self.offset = offset
        self.end = count.map { offset + $0 } ?? file.size
    }

    var remaining: Int { end - offset }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, end - offset)
        guard n > 0 else { return 0 }
        try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<n]), at: offset)
        offset += n
        return n
    }
}
