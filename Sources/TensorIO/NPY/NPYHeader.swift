/// The header of an NPY array: element type, memory order and shape, as numpy's format documents them
/// (numpy/lib/format.py): magic `\x93NUMPY`, a version byte pair, the header length (2 bytes in 1.0, 4 in
/// 2.0 and 3.0), then a Python dict literal padded so that the data starts on a 64-byte boundary.
struct NPYHeader: Equatable {
    /// What the array's elements are.
    enum Element: Equatable {
        /// Numbers of `dtype`; `swapped` when stored in the other byte order than this machine's.
        case number(DType, swapped: Bool)
        /// Fixed-width UTF-32 strings of `length` characters (numpy's `<U…`), read as metadata.
        case unicode(length: Int, swapped: Bool)

        var byteSize: Int {
            switch self {
            case .number(let dtype, _): dtype.byteSize
            case .unicode(let length, _): length * 4
            }
        }
    }

    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"
    /// numpy refuses headers longer than this when reading (`max_header_size`); so do we, with room to spare.
    static let maximumHeaderLength = 1 << 20

    var element: Element
    var fortranOrder: Bool
    var shape: [Int]

    // MARK: - Reading

    /// Reads and checks the magic, version and header dict from the start of `source`.
    /// Problems are reported as `TensorFileError.Problem`s for the caller to attribute.
    static func read(from source: inout some ByteSource) throws(NPYHeaderError) -> (NPYHeader, byteCount: Int) {
        var prefix = [UInt8](repeating: 0, count: 10)
        let got: Int
        do { got = try prefix.withUnsafeMutableBytes { try source.readFully(into: $0) } } catch { throw .source(error) }
        guard got == 10 else {
            if got < 6 || Array(prefix[0..<6]) == magic { throw .problem(.truncated(expected: 10, found: got)) }
            throw .problem(.malformed("not an NPY array (bad magic bytes)"))
        }
        guard Array(prefix[0..<6]) == magic else { throw .problem(.malformed("not an NPY array (bad magic bytes)")) }
        let major = prefix[6], minor = prefix[7]
        let headerLength: Int
        let prefixLength: Int
        switch (major, minor) {
        case (1, 0):
            headerLength = Int(prefix[8]) | Int(prefix[9]) << 8
            prefixLength = 10
        case (2, 0), (3, 0):
            var rest = [UInt8](repeating: 0, count: 2)
            let n: Int
            do { n = try rest.withUnsafeMutableBytes { try source.readFully(into: $0) } } catch { throw .source(error) }
            guard n == 2 else { throw .problem(.truncated(expected: 12, found: 10 + n)) }
            headerLength = Int(prefix[8]) | Int(prefix[9]) << 8 | Int(rest[0]) << 16 | Int(rest[1]) << 24
            prefixLength = 12
        default:
            throw .problem(.unsupportedFeature("NPY format version \(major).\(minor) (1.0, 2.0 and 3.0 are read)"))
        }
        guard headerLength <= maximumHeaderLength else {
            throw .problem(.tooLarge("NPY header of \(headerLength) bytes is larger than the \(maximumHeaderLength) accepted"))
        }
        var headerBytes = [UInt8](repeating: 0, count: headerLength)
        let n: Int
        do { n = try headerBytes.withUnsafeMutableBytes { try source.readFully(into: $0) } } catch { throw .source(error) }
        guard n == headerLength else {
            throw .problem(.truncated(expected: prefixLength + headerLength, found: prefixLength + n))
        }
        // Versions 1.0 and 2.0 encode the header in latin-1, 3.0 in UTF-8.
        let text: String
        if major == 3 {
            guard let decoded = String(validating: headerBytes, as: UTF8.self) else {
                throw .problem(.malformed("NPY header is not valid UTF-8"))
            }
            text = decoded
        } else {
            text = String(String.UnicodeScalarView(headerBytes.map { Unicode.Scalar($0) }))
        }
        return (try parse(text), prefixLength + headerLength)
    }

    /// Interprets the header dict text.
    static func parse(_ text: String) throws(NPYHeaderError) -> NPYHeader {
        let literal: PythonLiteral
        do { literal = try PythonLiteral.parse(text) } catch {
            throw .problem(.malformed("NPY header is not a Python literal: \(error.message)"))
        }
        guard case .dict(let items) = literal else { throw .problem(.malformed("NPY header is not a dict")) }
        var descr: PythonLiteral?, fortran: PythonLiteral?, shapeLiteral: PythonLiteral?
        for (key, value) in items {
            switch key {
            case "descr": descr = value
            case "fortran_order": fortran = value
            case "shape": shapeLiteral = value
            default: throw .problem(.malformed("NPY header has an unknown key \"\(key)\""))
            }
        }
        guard let descr, let fortran, let shapeLiteral else {
            throw .problem(.malformed("NPY header lacks one of descr, fortran_order, shape"))
        }
        guard case .boolean(let fortranOrder) = fortran else {
            throw .problem(.malformed("NPY header's fortran_order is not True or False"))
        }
        guard case .tuple(let dimensions) = shapeLiteral else {
            throw .problem(.malformed("NPY header's shape is not a tuple"))
        }
        var shape: [Int] = []
        for dimension in dimensions {
            guard case .integer(let value) = dimension else {
                throw .problem(.malformed("NPY header's shape holds something other than integers"))
            }
            shape.append(value)
        }
        guard shape.count <= 64 else { throw .problem(.malformed("NPY header's shape has \(shape.count) dimensions (at most 64)")) }
        guard Tensor.elementCount(of: shape) != nil else { throw .problem(.invalidShape(shape)) }
        return NPYHeader(element: try element(descr), fortranOrder: fortranOrder, shape: shape)
    }

    private static func element(_ descr: PythonLiteral) throws(NPYHeaderError) -> Element {
        guard case .string(let text) = descr else {
            throw .problem(.unsupportedDType("structured dtype (a record of fields); only plain numeric arrays are read"))
        }
        var scalars = Substring(text)
        guard let order = scalars.first, "<>|=".contains(order) else {
            throw .problem(.unsupportedDType("descr '\(text)' has no byte-order mark"))
        }
        scalars = scalars.dropFirst()
        guard let kind = scalars.first else { throw .problem(.unsupportedDType("descr '\(text)' is empty")) }
        let sizeText = scalars.dropFirst()
        let littleEndianHost = 1.littleEndian == 1
        let swapped = (order == ">" && littleEndianHost) || (order == "<" && !littleEndianHost)
        switch kind {
        case "O": throw .problem(.unsupportedDType("object arrays ('\(text)') need pickle, which is never run"))
        case "V": throw .problem(.unsupportedDType("void/structured dtype '\(text)'"))
        case "c": throw .problem(.unsupportedDType("complex dtype '\(text)'"))
        case "S", "a": throw .problem(.unsupportedDType("byte-string dtype '\(text)'"))
        case "M", "m": throw .problem(.unsupportedDType("date/time dtype '\(text)'"))
        case "U":
            guard let length = Int(sizeText), length >= 0 else {
                throw .problem(.unsupportedDType("unicode dtype '\(text)' has a bad length"))
            }
            guard length <= 1 << 20 else {
                throw .problem(.unsupportedDType("unicode dtype '\(text)' is longer than the \(1 << 20) characters a metadata string may have"))
            }
            return .unicode(length: length, swapped: swapped)
        default: break
        }
        let size = Int(sizeText)
        let dtype: DType? = switch (kind, size) {
        case ("f", 2): .float16
        case ("f", 4): .float32
        case ("f", 8): .float64
        case ("i", 1): .int8
        case ("i", 2): .int16
        case ("i", 4): .int32
        case ("i", 8): .int64
        case ("u", 1): .uint8
        case ("u", 2): .uint16
        case ("u", 4): .uint32
        case ("u", 8): .uint64
        case ("b", 1): .bool
        default: nil
        }
        guard let dtype else { throw .problem(.unsupportedDType("descr '\(text)'")) }
        return .number(dtype, swapped: swapped && dtype.byteSize > 1)
    }

    // MARK: - Writing

    /// The descr numpy writes for `dtype` on a little-endian machine; nil for bfloat16, which numpy lacks.
    static func descr(for dtype: DType) -> String? {
        switch dtype {
        case .float16: "<f2"
        case .bfloat16: nil
        case .float32: "<f4"
        case .float64: "<f8"
        case .int8: "|i1"
        case .int16: "<i2"
        case .int32: "<i4"
        case .int64: "<i8"
        case .uint8: "|u1"
        case .uint16: "<u2"
        case .uint32: "<u4"
        case .uint64: "<u8"
        case .bool: "|b1"
        }
    }

    /// The bytes before the data, exactly as `numpy.save` writes them: version 1.0 (2.0 only when the header
    /// outgrows 65535 bytes), keys in sorted order, spaces reserved so the shape can grow in place, and padding
    /// to put the data on a 64-byte boundary.
    static func encode(descr: String, shape: [Int]) -> [UInt8] {
        let shapeText: String = switch shape.count {
        case 0: "()"
        case 1: "(\(shape[0]),)"
        default: "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        if let first = shape.first {
            // numpy's GROWTH_AXIS_MAX_DIGITS: room for the first axis to grow to 21 digits.
            header += String(repeating: " ", count: max(0, 21 - String(first).count))
        }
        let body = Array(header.utf8)
        let headerLength = body.count + 1  // with the final newline
        for (major, lengthBytes) in [(UInt8(1), 2), (2, 4)] {
            let padding = 64 - ((8 + lengthBytes + headerLength) % 64)
            let total = headerLength + padding
            guard lengthBytes == 4 || total <= 0xFFFF else { continue }
            var result = magic + [major, 0]
            for i in 0..<lengthBytes { result.append(UInt8(truncatingIfNeeded: total >> (8 * i))) }
            result += body
            result += [UInt8](repeating: 0x20, count: padding)
            result.append(0x0A)
            return result
        }
        fatalError("unreachable: version 2.0 always fits")
    }
}

/// An NPY header problem, or an error of the source it was read from.
enum NPYHeaderError: Error {
    case problem(TensorFileError.Problem)
    case source(any Error)
}
