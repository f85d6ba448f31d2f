/// Bounds-checked little-endian reads from a byte array (zip headers and directories).
struct LittleEndianBytes {
    let bytes: [UInt8]

    /// The unsigned integer of `size` bytes at `offset`, or nil past the end.
    func uint(at offset: Int, size: Int) -> UInt64? {
        guard offset >= 0, size <= 8, offset <= bytes.count - size else { return nil }
        var value: UInt64 = 0
        for i in 0..<size { value |= UInt64(bytes[offset + i]) << (8 * i) }
        return value
    }

    func u16(_ offset: Int) -> Int? { uint(at: offset, size: 2).map(Int.init) }
    func u32(_ offset: Int) -> Int? { uint(at: offset, size: 4).map(Int.init) }
    /// A 64-bit field; nil when past the end or too large for `Int`.
    func u64(_ offset: Int) -> Int? { uint(at: offset, size: 8).flatMap { $0 <= UInt64(Int.max) ? Int($0) : nil } }

    subscript(range: Range<Int>) -> ArraySlice<UInt8>? {
        guard range.lowerBound >= 0, range.upperBound <= bytes.count else { return nil }
        return bytes[range]
    }
}

/// Appends little-endian integers to a byte array (zip headers).
extension Array where Element == UInt8 {
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        var v = value.littleEndian
        Swift.withUnsafeBytes(of: &v) { append(contentsOf: $0) }
    }
}
