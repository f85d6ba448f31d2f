/// The uncompressed bytes of one zip entry, read (and inflated) on demand, with its CRC-32 checked.
///
/// Never produces more than the directory's declared size: a deflate stream that would go on is an error
/// (`finish()` reports it), so a bomb costs no memory beyond the declared size that was already checked.
struct ZipEntrySource: ByteSource {
    let file: InputFile
    let entry: ZipEntry
    private var produced = 0
    private var crc = CRC32()
    private var compressedRead = 0
    private var inflater: Inflater?
    private var input: [UInt8] = []
    private var inputStart = 0
    private var streamEnded = false

    /// The name errors give (the tensor's name rather than the member's, say).
    let displayName: String

    init(file: InputFile, entry: ZipEntry, displayName: String? = nil) {
        self.file = file
        self.entry = entry
        self.displayName = displayName ?? entry.name
        if entry.method == .deflated { inflater = Inflater() }
    }

    var remaining: Int { entry.uncompressedSize - produced }

    private func fail(_ problem: TensorFileError.Problem) -> TensorFileError {
        TensorFileError(path: file.path, tensor: displayName, problem: problem)
    }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let wanted = min(buffer.count, remaining)
        guard wanted > 0 else { return 0 }
        let target = UnsafeMutableRawBufferPointer(rebasing: buffer[..<wanted])
        let n: Int
        if let inflater {
            n = try inflate(into: target, with: inflater)
        } else {
            try file.read(into: target, at: entry.dataOffset + produced)
            n = wanted
        }
        crc.update(UnsafeRawBufferPointer(rebasing: target[..<n]))
        produced += n
        return n
    }

    private mutating func inflate(into target: UnsafeMutableRawBufferPointer, with inflater: Inflater) throws -> Int {
        var total = 0
        while total < target.count {
            if streamEnded {
                throw fail(.truncated(expected: entry.uncompressedSize, found: produced + total))
            }
            try refillIfEmpty()
            let step: (consumed: Int, produced: Int, ended: Bool)
            do {
                step = try input.withUnsafeBytes { bytes in
                    try inflater.inflate(
                        input: UnsafeRawBufferPointer(rebasing: bytes[inputStart...]),
                        output: UnsafeMutableRawBufferPointer(rebasing: target[total...]))
                }
            } catch {
                throw fail(.malformed("corrupt deflate data: \((error as? InflateError)?.message ?? "\(error)")"))
            }
            inputStart += step.consumed
            total += step.produced
            streamEnded = step.ended
            if step.consumed == 0, step.produced == 0, !step.ended, inputStart == input.count,
               compressedRead == entry.compressedSize
            {
                throw fail(.truncated(expected: entry.uncompressedSize, found: produced + total))
            }
        }
        return total
    }

    private mutating func refillIfEmpty() throws {
        guard inputStart == input.count, compressedRead < entry.compressedSize else { return }
        let count = min(1 << 20, entry.compressedSize - compressedRead)
        input = try file.bytes(at: entry.dataOffset + compressedRead, count: count)
        inputStart = 0
        compressedRead += count
    }

    /// Checks that the entry ended exactly at its declared size and that its CRC-32 matches.
    mutating func finish() throws {
        guard remaining == 0 else { throw fail(.truncated(expected: entry.uncompressedSize, found: produced)) }
        if let inflater, !streamEnded {
            // The declared size is reached; the deflate stream must end here, producing nothing more.
            var probe: UInt8 = 0
            while !streamEnded {
                try refillIfEmpty()
                let step: (consumed: Int, produced: Int, ended: Bool)
                do {
                    step = try input.withUnsafeBytes { bytes in
                        try withUnsafeMutableBytes(of: &probe) { out in
                            try inflater.inflate(input: UnsafeRawBufferPointer(rebasing: bytes[inputStart...]), output: out)
                        }
                    }
                } catch {
                    throw fail(.malformed("corrupt deflate data: \((error as? InflateError)?.message ?? "\(error)")"))
                }
                inputStart += step.consumed
                streamEnded = step.ended
                if step.produced > 0 {
                    throw fail(.malformed("entry inflates past its declared \(entry.uncompressedSize) bytes"))
                }
                if step.consumed == 0, !step.ended, inputStart == input.count, compressedRead == entry.compressedSize {
                    throw fail(.malformed("deflate stream does not end where the entry does"))
                }
            }
        }
        guard crc.value == entry.crc else { throw fail(.checksumMismatch(expected: entry.crc, found: crc.value)) }
    }
}
