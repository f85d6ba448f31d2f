/// Appends protocol-buffer fields to a byte array: the wire format of
/// https://protobuf.dev/programming-guides/encoding/ (varints, length-delimited fields, fixed32/fixed64).
///
/// Written by hand because an ONNX file is one protobuf message and no protobuf package is available to
/// this package (its dependencies are swift-argument-parser and swift-collections only; SwiftProtobuf would
/// add a generator step and a runtime for the five field encodings below). We only ever *write* ONNX, and
/// only the handful of messages an RNN graph needs (`ONNXProto`), so the encoder is small and reading —
/// where a hand-written parser would need hardening — is left to onnx and ONNX Runtime.
struct ProtobufWriter {
    /// The wire types of the protobuf encoding (the low three bits of every field's tag).
    enum WireType: UInt64 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case fixed32 = 5
    }

    /// The message's bytes so far.
    private(set) var bytes: [UInt8] = []

    /// Appends `value` as a base-128 varint: seven bits a byte, least significant group first, high bit set on
    /// every byte but the last.
    mutating func appendVarint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// Appends a field's tag: its number shifted left by three, or-ed with the wire type.
    mutating func appendTag(_ field: Int, _ wireType: WireType) {
        appendVarint(UInt64(field) << 3 | wireType.rawValue)
    }

    /// An `int64`/`int32`/enum field. Negative values take ten bytes (two's complement as a 64-bit varint),
    /// exactly as protobuf encodes them.
    mutating func appendInt(_ field: Int, _ value: Int64) {
        appendTag(field, .varint)
        appendVarint(UInt64(bitPattern: value))
    }

    /// A `float` field: four little-endian bytes (fixed32).
    mutating func appendFloat(_ field: Int, _ value: Float) {
        appendTag(field, .fixed32)
        appendLittleEndian(value.bitPattern)
    }

    /// A `double` field: eight little-endian bytes (fixed64).
    mutating func appendDouble(_ field: Int, _ value: Double) {
        appendTag(field, .fixed64)
        appendLittleEndian(value.bitPattern)
    }

    /// A `bytes` field: the length as a varint, then the bytes.
    mutating func appendBytes(_ field: Int, _ value: some Collection<UInt8>) {
        appendTag(field, .lengthDelimited)
        appendVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// A `string` field: its UTF-8 bytes, length-delimited.
    mutating func appendString(_ field: Int, _ value: String) {
        appendBytes(field, Array(value.utf8))
    }

    /// An embedded message field: `body` writes the message, which is then length-delimited.
    mutating func appendMessage(_ field: Int, _ body: (inout ProtobufWriter) -> Void) {
        var nested = ProtobufWriter()
        body(&nested)
        appendBytes(field, nested.bytes)
    }

    private mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}
