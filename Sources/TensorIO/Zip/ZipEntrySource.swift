#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The uncompressed bytes of one zip entry, read (and inflated) on demand, with its CRC-32 checked.
///
/// Never produces more than the directory's declared size: a deflate stream that would go on is an error
/// (`finish()` reports it), so a bomb costs no memory beyond the declared size that was already checked.
/// A deflated entry is either handed over already inflated (`InflatedEntry`, the fast path) or inflated here
/// with zlib as it is read.
struct ZipEntrySource: ByteSource {
    let file: InputFile
    let entry: ZipEntry
    private var produced = 0
    private var crc = CRC32()
    private var compressedRead = 0
    private var inflater: Inflater?
    private var inflated: InflatedEntry?
    private var input: [UInt8] = []
    private var inputStart = 0
    private var streamEnded = false

    /// The name errors give (the tensor's name rather than the member's, say).
    let displayName: String

    /// A source for `entry`; `inflated`, when given, holds a deflated entry's bytes already.
    init(file: InputFile, entry: ZipEntry, displayName: String? = nil, inflated: InflatedEntry? = nil) {
        self.file = file
        self.entry = entry
        self.displayName = displayName ?? entry.name
        if entry.method == .deflated {
            if let inflated, inflated.storage.bytes.count == entry.uncompressedSize {
                self.inflated = inflated
            } else {
                inflater = Inflater()
            }
        }
    }

    var remaining: Int { entry.uncompressedSize - produced }

    private func fail(_ problem: TensorFileError.Problem) -> TensorFileError {
        TensorFileError(path: file.path, tensor: displayName, problem: problem)
    }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let wanted = min(buffer.count, remaining)
        guard wanted > 0 else { return 0 }
        let target = UnsafeMutableRawBufferPointer(rebasing: buffer[..<wanted])
        if let inflated {
            // Its CRC-32 was taken when it was inflated.
            target.copyMemory(from: UnsafeRawBufferPointer(rebasing: inflated.storage.bytes[produced..<(produced + wanted)]))
            produced += wanted
            return wanted
        }
        let n: Int
        if let inflater {
            n = try inflate(into: target, with: inflater)
            crc.update(UnsafeRawBufferPointer(rebasing: target[..<n]))
        } else {
            try readStored(into: target)
            n = wanted
        }
        produced += n
        return n
    }

    /// An inflated entry's remaining bytes become the tensor's storage in place: moved to the start of the
    /// buffer first when they do not begin on a 64-byte boundary (numpy pads its headers so that they do).
    mutating func takeRemainingStorage() -> TensorStorage? {
        guard let inflated else { return nil }
        var offset = produced
        let count = remaining
        if offset % TensorStorage.alignment != 0, count > 0 {
            let base = inflated.storage.bytes.baseAddress!
            memmove(base, base + offset, count)
            offset = 0
        }
        produced += count
        return TensorStorage(slicing: inflated.storage, offset: offset, count: count)
    }

    /// Reads stored bytes straight into `target`, taking their CRC-32 a piece at a time while it is in cache;
    /// large reads run on all cores, and the pieces' checksums are joined in order.
    private mutating func readStored(into target: UnsafeMutableRawBufferPointer) throws {
        let pieceSize = CRC32.pieceSize
        let pieces = (target.count + pieceSize - 1) / pieceSize
        var checksums = [UInt32](repeating: 0, count: pieces)
        try checksums.withUnsafeMutableBufferPointer { checksums in
            try file.read(into: target, at: entry.dataOffset + produced, pieceSize: pieceSize) { index, piece in
                checksums[index] = CRC32.checksum(piece)
            }
        }
        crc.append(checksums, totalLength: target.count)
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
        if let inflated {
            guard inflated.crc == entry.crc else { throw fail(.checksumMismatch(expected: entry.crc, found: inflated.crc)) }
            return
        }
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
