/// Reads the fields of one protocol-buffer message: the wire format of
/// https://protobuf.dev/programming-guides/encoding/, the counterpart of `ProtobufWriter`.
///
/// A reader walks a byte range of a buffer it does not own (a whole ONNX file held in memory) and hands out
/// each field's number and value; a length-delimited value is a range of that buffer, so an embedded message
/// is read with a new reader over its range and a weight's `raw_data` is never copied until it becomes a tensor.
/// Every length is checked against the enclosing message before it is used; groups (wire types 3 and 4,
/// deprecated and absent from ONNX) and a field number 0 are malformed.
package struct ProtobufReader {
    /// A field's value as the wire carries it.
    package enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case lengthDelimited(Range<Int>)
        case fixed32(UInt32)
    }

    /// What is wrong with the bytes, and where (an offset in the buffer).
    package struct Failure: Error, Equatable {
        package var offset: Int
        package var detail: String
    }

    package let buffer: UnsafeRawBufferPointer
    private var position: Int
    private let end: Int

    /// A reader over `range` of `buffer` (the whole buffer when nil).
    package init(_ buffer: UnsafeRawBufferPointer, range: Range<Int>? = nil) {
        self.buffer = buffer
        position = range?.lowerBound ?? 0
        end = range?.upperBound ?? buffer.count
    }

    /// The next field, or nil at the end of the message.
    package mutating func next() throws -> (number: Int, value: Value)? {
        guard position < end else { return nil }
        let start = position
        let tag = try varint()
        let number = tag >> 3
        guard number > 0, number <= 536_870_911 else { throw Failure(offset: start, detail: "field number \(number) is out of range") }
        switch tag & 7 {
        case 0:
            return (Int(number), .varint(try varint()))
        case 1:
            return (Int(number), .fixed64(try fixed(8)))
        case 2:
            let length = try varint()
            guard length <= UInt64(end - position) else {
                throw Failure(offset: start, detail: "field \(number) declares \(length) bytes where \(end - position) remain")
            }
            let range = position..<(position + Int(length))
            position = range.upperBound
            return (Int(number), .lengthDelimited(range))
        case 5:
            return (Int(number), .fixed32(UInt32(try fixed(4))))
        case let wireType:
            throw Failure(offset: start, detail: "field \(number) has wire type \(wireType) (groups and unknown types are not read)")
        }
    }

    private mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        for index in 0..<10 {
            guard position < end else { throw Failure(offset: position, detail: "the message ends inside a varint") }
            let byte = buffer[position]
            position += 1
            // The tenth byte may carry only the 64th bit.
            guard index < 9 || byte <= 1 else { throw Failure(offset: position - 1, detail: "a varint is longer than 64 bits") }
            result |= UInt64(byte & 0x7F) << (7 * UInt64(index))
            if byte < 0x80 { return result }
        }
        throw Failure(offset: position, detail: "a varint is longer than ten bytes")
    }

    private mutating func fixed(_ size: Int) throws -> UInt64 {
        guard end - position >= size else { throw Failure(offset: position, detail: "the message ends inside a \(size * 8)-bit value") }
        var result: UInt64 = 0
        for index in 0..<size { result |= UInt64(buffer[position + index]) << (8 * UInt64(index)) }
        position += size
        return result
    }

    // MARK: - Typed views of a value

    /// The bytes of a length-delimited value as UTF-8 text (invalid sequences replaced, as names are only shown).
    package func string(_ value: Value, field: Int) throws -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: buffer[try range(value, field: field)]), as: UTF8.self)
    }

    /// The range of a length-delimited value.
    package func range(_ value: Value, field: Int) throws -> Range<Int> {
        guard case .lengthDelimited(let range) = value else { throw wrongType(field, "length-delimited") }
        return range
    }

    /// A varint value as a two's-complement `int64` (protobuf's `int32`, `int64` and enums).
    package func int64(_ value: Value, field: Int) throws -> Int64 {
        guard case .varint(let bits) = value else { throw wrongType(field, "varint") }
        return Int64(bitPattern: bits)
    }

    /// A fixed32 value as a `float`.
    package func float(_ value: Value, field: Int) throws -> Float {
        guard case .fixed32(let bits) = value else { throw wrongType(field, "32-bit") }
        return Float(bitPattern: bits)
    }

    /// The values of a repeated varint field occurrence: one element, or a packed run of them.
    package func varints(_ value: Value, field: Int, into result: inout [Int64], limit: Int) throws {
        switch value {
        case .varint(let bits):
            result.append(Int64(bitPattern: bits))
        case .lengthDelimited(let range):
            var packed = ProtobufReader(buffer, range: range)
            while packed.position < packed.end {
                guard result.count < limit else { throw Failure(offset: packed.position, detail: "field \(field) holds more than \(limit) values") }
                result.append(Int64(bitPattern: try packed.varint()))
            }
        default:
            throw wrongType(field, "varint")
        }
        guard result.count <= limit else { throw Failure(offset: position, detail: "field \(field) holds more than \(limit) values") }
    }

    /// The values of a repeated fixed-width field occurrence (`size` 4 or 8 bytes): one element, or a packed run.
    package func fixedWidth(_ value: Value, field: Int, size: Int, into result: inout [UInt64], limit: Int) throws {
        switch value {
        case .fixed32(let bits) where size == 4:
            result.append(UInt64(bits))
        case .fixed64(let bits) where size == 8:
            result.append(bits)
        case .lengthDelimited(let range):
            guard range.count % size == 0 else {
                throw Failure(offset: range.lowerBound, detail: "field \(field) packs \(range.count) bytes, not a multiple of \(size)")
            }
            guard result.count + range.count / size <= limit else {
                throw Failure(offset: range.lowerBound, detail: "field \(field) holds more than \(limit) values")
            }
            var packed = ProtobufReader(buffer, range: range)
            while packed.position < packed.end { result.append(try packed.fixed(size)) }
        default:
            throw wrongType(field, "\(size * 8)-bit")
        }
        guard result.count <= limit else { throw Failure(offset: position, detail: "field \(field) holds more than \(limit) values") }
    }

    private func wrongType(_ field: Int, _ expected: String) -> Failure {
        Failure(offset: position, detail: "field \(field) is not \(expected) as onnx.proto declares it")
    }
}
