/// Appends protocol-buffer fields to a message: the wire format of
/// https://protobuf.dev/programming-guides/encoding/ (varints, length-delimited fields, fixed32/fixed64).
///
/// Written by hand, as its reader `ProtobufReader` is (the README says why: a generated SwiftProtobuf model
/// of onnx.proto copies every weight into memory before we see it and adds a runtime to build, where the
/// handful of ONNX messages an RNN needs (`ONNXProto`) take the five field encodings below).
///
/// A message is a list of segments: encoded bytes, and deferred fields (`DeferredBytes`) whose length is known
/// but whose bytes are produced only when the message is written. An embedded message's length prefix needs
/// only the lengths, so a model's weights are never held encoded in memory: `write(to:)` produces them in
/// pieces of `pieceSize` bytes, straight into the file.
package struct ProtobufWriter {
    /// The wire types of the protobuf encoding (the low three bits of every field's tag).
    package enum WireType: UInt64 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case fixed32 = 5
    }

    /// The contents of a `bytes` field, produced when the message is written rather than when it is built.
    package struct DeferredBytes {
        /// The field's length in bytes.
        package let count: Int
        /// Writes bytes `offset ..< offset + buffer.count` of the field into `buffer`. It is called front to back
        /// with pieces of `ProtobufWriter.pieceSize` bytes (the last one ending the field), so every offset is a
        /// multiple of 8, as is every piece's length but the last's, and `buffer` starts 16-byte aligned.
        package let fill: (_ offset: Int, _ buffer: UnsafeMutableRawBufferPointer) -> Void

        package init(count: Int, fill: @escaping (_ offset: Int, _ buffer: UnsafeMutableRawBufferPointer) -> Void) {
            self.count = count
            self.fill = fill
        }
    }

    /// One part of an encoded message, in the message's order.
    package enum Segment {
        case bytes([UInt8])
        case deferred(DeferredBytes)
    }

    /// The largest piece of a deferred field `write(to:)` produces at once: what writing adds to memory.
    package static let pieceSize = 1 << 20

    /// The segments before `tail`.
    package private(set) var segments: [Segment] = []
    /// The encoded bytes after the last deferred field.
    private var tail: [UInt8] = []
    /// The length of `segments`.
    private var segmentsCount = 0

    /// An empty message.
    package init() {}

    /// The message's length in bytes, deferred fields included.
    package var count: Int { segmentsCount + tail.count }

    /// The whole message in memory, deferred fields produced.
    package var bytes: [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(count)
        write { result.append(contentsOf: $0) }
        return result
    }

    /// Hands the message to `emit` front to back: encoded bytes as they are, deferred fields in pieces of at
    /// most `pieceSize` bytes, all through one buffer of that size.
    package func write(to emit: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        let largest = segments.reduce(0) { if case .deferred(let field) = $1 { max($0, field.count) } else { $0 } }
        let piece = UnsafeMutableRawBufferPointer.allocate(byteCount: min(largest, Self.pieceSize), alignment: 16)
        defer { piece.deallocate() }
        for segment in segments {
            switch segment {
            case .bytes(let bytes):
                try bytes.withUnsafeBytes(emit)
            case .deferred(let field):
                var offset = 0
                while offset < field.count {
                    let part = UnsafeMutableRawBufferPointer(rebasing: piece[..<min(Self.pieceSize, field.count - offset)])
                    field.fill(offset, part)
                    try emit(UnsafeRawBufferPointer(part))
                    offset += part.count
                }
            }
        }
        try tail.withUnsafeBytes(emit)
    }

    /// Appends `value` as a base-128 varint: seven bits a byte, least significant group first, high bit set on
    /// every byte but the last.
    package mutating func appendVarint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            tail.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        tail.append(UInt8(rest))
    }

    /// Appends a field's tag: its number shifted left by three, or-ed with the wire type.
    package mutating func appendTag(_ field: Int, _ wireType: WireType) {
        appendVarint(UInt64(field) << 3 | wireType.rawValue)
    }

    /// An `int64`/`int32`/enum field. Negative values take ten bytes (two's complement as a 64-bit varint),
    /// exactly as protobuf encodes them.
    package mutating func appendInt(_ field: Int, _ value: Int64) {
        appendTag(field, .varint)
        appendVarint(UInt64(bitPattern: value))
    }

    /// A `float` field: four little-endian bytes (fixed32).
    package mutating func appendFloat(_ field: Int, _ value: Float) {
        appendTag(field, .fixed32)
        appendLittleEndian(value.bitPattern)
    }

    /// A `double` field: eight little-endian bytes (fixed64).
    package mutating func appendDouble(_ field: Int, _ value: Double) {
        appendTag(field, .fixed64)
        appendLittleEndian(value.bitPattern)
    }

    /// A `bytes` field: the length as a varint, then the bytes.
    package mutating func appendBytes(_ field: Int, _ value: some Collection<UInt8>) {
        appendTag(field, .lengthDelimited)
        appendVarint(UInt64(value.count))
        tail.append(contentsOf: value)
    }

    /// A `bytes` field whose contents `value` produces when the message is written.
    package mutating func appendBytes(_ field: Int, _ value: DeferredBytes) {
        appendTag(field, .lengthDelimited)
        appendVarint(UInt64(value.count))
        appendSegment(.deferred(value))
    }

    /// A `string` field: its UTF-8 bytes, length-delimited.
    package mutating func appendString(_ field: Int, _ value: String) {
        appendBytes(field, Array(value.utf8))
    }

    /// An embedded message field: `body` writes the message, which is then length-delimited. Only the encoded
    /// bytes are copied into this message; deferred fields are carried over as they are.
    package mutating func appendMessage(_ field: Int, _ body: (inout ProtobufWriter) -> Void) {
        var nested = ProtobufWriter()
        body(&nested)
        appendTag(field, .lengthDelimited)
        appendVarint(UInt64(nested.count))
        for segment in nested.segments { appendSegment(segment) }
        tail.append(contentsOf: nested.tail)
    }

    private mutating func appendSegment(_ segment: Segment) {
        switch segment {
        case .bytes(let bytes):
            tail.append(contentsOf: bytes)
        case .deferred(let field):
            if !tail.isEmpty { segments.append(.bytes(tail)) }
            segments.append(segment)
            segmentsCount += tail.count + field.count
            tail = []
        }
    }

    private mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { tail.append(contentsOf: $0) }
    }
}
