/// A bfloat16 value: the top 16 bits of an IEEE-754 float32, as PyTorch's `torch.bfloat16`.
///
/// Swift has no native bfloat16, so this type only stores the bits and converts: widening to `Float` is
/// exact; narrowing from `Float` rounds to nearest, ties to even, and keeps NaN a (quiet) NaN.
public struct BFloat16: Sendable, Hashable {
    /// The raw 16 bits.
    public var bitPattern: UInt16

    /// A value from its raw bits.
    public init(bitPattern: UInt16) { self.bitPattern = bitPattern }

    /// The nearest bfloat16 to `value` (round to nearest, ties to even).
    public init(_ value: Float) {
        let bits = value.bitPattern
        if value.isNaN {
            bitPattern = UInt16(truncatingIfNeeded: bits >> 16) | 0x0040
            return
        }
        let roundingBias: UInt32 = 0x7FFF + ((bits >> 16) & 1)
        bitPattern = UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
    }

    /// The exact value as a `Float`.
    public var floatValue: Float { Float(bitPattern: UInt32(bitPattern) << 16) }
}
