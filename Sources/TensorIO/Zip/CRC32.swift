import CLibDeflate
import CZlib

/// CRC-32 (the zip polynomial), computed with libdeflate.
///
/// libdeflate's PCLMULQDQ code runs at 10–14 GB/s on data in cache here, zlib 1.2.13's (Debian) at 2.4–2.9 GB/s;
/// over a 352 MB model not in cache, 47 ms against 98 ms. Pieces checked apart (on several threads) are joined
/// with `append` (zlib's `crc32_combine`: about 90 ns a piece).
struct CRC32 {
    private(set) var value: UInt32 = 0

    /// Bytes checked per piece when reading: 1 MiB is still in L2 cache when its CRC runs right after the read
    /// (measured: 112 ms for 352 MB read and checked in 1 MiB pieces, 139 ms reading all then checking).
    static let pieceSize = 1 << 20

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        value = libdeflate_crc32(value, base, bytes.count)
    }

    /// The CRC-32 of `bytes` alone; large buffers are checked in pieces on all cores and the results joined.
    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = CRC32()
        guard bytes.count >= InputFile.concurrentReadThreshold else {
            crc.update(bytes)
            return crc.value
        }
        let pieces = (bytes.count + pieceSize - 1) / pieceSize
        var checksums = [UInt32](repeating: 0, count: pieces)
        checksums.withUnsafeMutableBufferPointer { checksums in
            performConcurrently(iterations: pieces) { index in
                let start = index * pieceSize
                var piece = CRC32()
                piece.update(UnsafeRawBufferPointer(rebasing: bytes[start..<min(start + pieceSize, bytes.count)]))
                checksums[index] = piece.value
            }
        }
        crc.append(checksums, totalLength: bytes.count)
        return crc.value
    }

    /// Extends the checksum with consecutive pieces of `pieceSize` bytes (the last one shorter, to make up
    /// `totalLength`) whose own checksums are `checksums`, in order.
    mutating func append(_ checksums: [UInt32], totalLength: Int) {
        for (index, checksum) in checksums.enumerated() {
            append(checksum, length: min(Self.pieceSize, totalLength - index * Self.pieceSize))
        }
    }

    /// Extends the checksum as if the `length` bytes whose own CRC-32 is `next` had been passed to `update`.
    mutating func append(_ next: UInt32, length: Int) {
        guard length > 0 else { return }
        value = UInt32(truncatingIfNeeded: crc32_combine(UInt(value), UInt(next), length))
    }
}
