/// Decoding the ONNX messages from a file's bytes (`ProtobufReader`), with the bounds a hostile file needs:
/// graphs nest at most `maximumGraphDepth` deep (an `If` branch is a graph inside a node's attribute), a tensor
/// has at most `maximumRank` dimensions, each at least 0, and every length is checked by the reader. Unknown
/// fields are skipped, as protobuf requires; a field of the wrong wire type is malformed.
extension ONNXProto {
    /// How deep graphs may nest inside node attributes (the main graph is depth 0).
    static let maximumGraphDepth = 16
    /// The most dimensions a tensor may declare.
    static let maximumRank = 32

    /// Where decoding is: the buffer and the graph depth, for messages and errors.
    struct Decoder {
        let buffer: UnsafeRawBufferPointer
        var depth = 0

        func fields(_ range: Range<Int>?, _ body: (inout ProtobufReader, Int, ProtobufReader.Value) throws -> Void) throws {
            var reader = ProtobufReader(buffer, range: range)
            while let (number, value) = try reader.next() { try body(&reader, number, value) }
        }

        func entry(_ range: Range<Int>) throws -> (key: String, value: String) {
            var key = "", value = ""
            try fields(range) { reader, number, field in
                switch number {
                case 1: key = try reader.string(field, field: 1)
                case 2: value = try reader.string(field, field: 2)
                default: break
                }
            }
            return (key, value)
        }
    }
}

extension ONNXProto.Model {
    /// The model in `buffer` (a whole `.onnx` file); throws `ProtobufReader.Failure` saying what is wrong.
    package init(decoding buffer: UnsafeRawBufferPointer) throws {
        let decoder = ONNXProto.Decoder(buffer: buffer)
        var irVersion: Int64 = 0, producerName = "", producerVersion = "", docString = ""
        var graph: ONNXProto.Graph?
        var opsets: [ONNXProto.OperatorSetID] = []
        var metadata: [(key: String, value: String)] = []
        try decoder.fields(nil) { reader, number, value in
            switch number {
            case 1: irVersion = try reader.int64(value, field: number)
            case 2: producerName = try reader.string(value, field: number)
            case 3: producerVersion = try reader.string(value, field: number)
            case 6: docString = try reader.string(value, field: number)
            case 7: graph = try ONNXProto.Graph(decoder, try reader.range(value, field: number))
            case 8:
                var opset = ONNXProto.OperatorSetID(domain: "", version: 0)
                try decoder.fields(try reader.range(value, field: number)) { inner, number, value in
                    switch number {
                    case 1: opset.domain = try inner.string(value, field: number)
                    case 2: opset.version = try inner.int64(value, field: number)
                    default: break
                    }
                }
                opsets.append(opset)
            case 14: metadata.append(try decoder.entry(try reader.range(value, field: number)))
            default: break
            }
        }
        guard let graph else { throw ProtobufReader.Failure(offset: 0, detail: "the model has no graph (not an ONNX model)") }
        self.init(irVersion: irVersion, opsetImports: opsets, producerName: producerName, docString: docString,
                  graph: graph, metadata: metadata)
        self.producerVersion = producerVersion
    }

    /// The version of the standard operator set the model imports (domain "" or "ai.onnx"), if it names one.
    package var standardOpset: Int64? {
        opsetImports.first { $0.domain.isEmpty || $0.domain == "ai.onnx" }?.version
    }
}

extension ONNXProto.Graph {
    init(_ decoder: ONNXProto.Decoder, _ range: Range<Int>) throws {
        guard decoder.depth <= ONNXProto.maximumGraphDepth else {
            throw ProtobufReader.Failure(offset: range.lowerBound, detail: "graphs nest more than \(ONNXProto.maximumGraphDepth) deep")
        }
        self.init(name: "", docString: "")
        try decoder.fields(range) { reader, number, value in
            switch number {
            case 1: nodes.append(try ONNXProto.Node(decoder, try reader.range(value, field: number)))
            case 2: name = try reader.string(value, field: number)
            case 5: initializers.append(try ONNXProto.Tensor(decoder, try reader.range(value, field: number)))
            case 11: inputs.append(try ONNXProto.ValueInfo(decoder, try reader.range(value, field: number)))
            case 12: outputs.append(try ONNXProto.ValueInfo(decoder, try reader.range(value, field: number)))
            case 15:
                throw ProtobufReader.Failure(offset: try reader.range(value, field: number).lowerBound,
                                             detail: "graph \"\(name)\" has a sparse initializer (not read)")
            default: break
            }
        }
    }
}

extension ONNXProto.Node {
    init(_ decoder: ONNXProto.Decoder, _ range: Range<Int>) throws {
        self.init(opType: "", name: "", inputs: [], outputs: [])
        try decoder.fields(range) { reader, number, value in
            switch number {
            case 1: inputs.append(try reader.string(value, field: number))
            case 2: outputs.append(try reader.string(value, field: number))
            case 3: name = try reader.string(value, field: number)
            case 4: opType = try reader.string(value, field: number)
            case 5: attributes.append(try ONNXProto.Attribute(decoder, try reader.range(value, field: number)))
            case 7: domain = try reader.string(value, field: number)
            default: break
            }
        }
    }
}

extension ONNXProto.Attribute {
    init(_ decoder: ONNXProto.Decoder, _ range: Range<Int>) throws {
        var name = "", type: Int64?
        var float: Float?, int: Int64?, string: String?, tensor: ONNXProto.Tensor?, graph: ONNXProto.Graph?
        var floats: [UInt64] = [], ints: [Int64] = [], strings: [String] = [], graphs: [ONNXProto.Graph] = []
        var seen: Int64?  // the kind the fields present show, for files that leave `type` out
        var inner = decoder
        inner.depth += 1
        try decoder.fields(range) { reader, number, value in
            switch number {
            case 1: name = try reader.string(value, field: number)
            case 20: type = try reader.int64(value, field: number)
            case 2: float = try reader.float(value, field: number); seen = 1
            case 3: int = try reader.int64(value, field: number); seen = 2
            case 4: string = try reader.string(value, field: number); seen = 3
            case 5: tensor = try ONNXProto.Tensor(decoder, try reader.range(value, field: number)); seen = 4
            case 6: graph = try ONNXProto.Graph(inner, try reader.range(value, field: number)); seen = 5
            case 7: try reader.fixedWidth(value, field: number, size: 4, into: &floats, limit: reader.buffer.count); seen = 6
            case 8: try reader.varints(value, field: number, into: &ints, limit: reader.buffer.count); seen = 7
            case 9: strings.append(try reader.string(value, field: number)); seen = 8
            case 11: graphs.append(try ONNXProto.Graph(inner, try reader.range(value, field: number))); seen = 10
            case 10, 22, 23, 14, 15: seen = seen ?? Int64([10: 9, 22: 11, 23: 12, 14: 13, 15: 14][number]!)
            default: break
            }
        }
        let kind = type ?? seen ?? 0
        let value: Value = switch kind {
        case 1: .float(float ?? 0)
        case 2: .int(int ?? 0)
        case 3: .string(string ?? "")
        case 4 where tensor != nil: .tensor(tensor!)
        case 5 where graph != nil: .graph(graph!)
        case 6: .floats(floats.map { Float(bitPattern: UInt32(truncatingIfNeeded: $0)) })
        case 7: .ints(ints)
        case 8: .strings(strings)
        case 10: .graphs(graphs)
        default: .other(kind)
        }
        self.init(name, value)
    }
}

extension ONNXProto.Tensor {
    init(_ decoder: ONNXProto.Decoder, _ range: Range<Int>) throws {
        var dims: [Int64] = [], dataType: Int64 = 0, name = ""
        var raw: Range<Int>?, floats: [UInt64] = [], doubles: [UInt64] = [], integers: [Int64] = []
        var integerField: Int?, external: [(key: String, value: String)] = [], location: Int64 = 0, segmented = false
        try decoder.fields(range) { reader, number, value in
            let limit = reader.buffer.count
            switch number {
            case 1:
                try reader.varints(value, field: number, into: &dims, limit: ONNXProto.maximumRank)
            case 2: dataType = try reader.int64(value, field: number)
            case 3: segmented = true
            case 4: try reader.fixedWidth(value, field: number, size: 4, into: &floats, limit: limit)
            case 5, 7, 11:
                guard integerField == nil || integerField == number else {
                    throw ProtobufReader.Failure(offset: range.lowerBound, detail: "tensor \"\(name)\" fills two integer fields")
                }
                integerField = number
                try reader.varints(value, field: number, into: &integers, limit: limit)
            case 6: break  // string_data: a STRING tensor, refused by name if anything needs it
            case 8: name = try reader.string(value, field: number)
            case 9: raw = try reader.range(value, field: number)
            case 10: try reader.fixedWidth(value, field: number, size: 8, into: &doubles, limit: limit)
            case 13: external.append(try decoder.entry(try reader.range(value, field: number)))
            case 14: location = try reader.int64(value, field: number)
            default: break
            }
        }
        guard !segmented else {
            throw ProtobufReader.Failure(offset: range.lowerBound, detail: "tensor \"\(name)\" is segmented (not read)")
        }
        guard dims.allSatisfy({ $0 >= 0 && $0 <= Int64(Int32.max) }) else {
            throw ProtobufReader.Failure(offset: range.lowerBound, detail: "tensor \"\(name)\" has dimensions \(dims)")
        }
        let data: Data
        if location == 1 {
            data = .external(external)
        } else if let raw {
            data = .raw(raw)
        } else if !floats.isEmpty {
            data = .floats(floats.map { Float(bitPattern: UInt32(truncatingIfNeeded: $0)) })
        } else if !doubles.isEmpty {
            data = .doubles(doubles.map { Double(bitPattern: $0) })
        } else if !integers.isEmpty {
            data = .integers(integers)
        } else {
            data = .none
        }
        self.init(name: name, dataType: ONNXProto.DataType(rawValue: dataType), dims: dims.map { Int($0) }, data: data)
    }
}

extension ONNXProto.ValueInfo {
    init(_ decoder: ONNXProto.Decoder, _ range: Range<Int>) throws {
        self.init(name: "", elementType: .undefined, shape: nil)
        try decoder.fields(range) { reader, number, value in
            switch number {
            case 1: name = try reader.string(value, field: number)
            case 2:
                // TypeProto: only tensor_type (1) is read; sequences, maps and optionals stay undefined.
                try decoder.fields(try reader.range(value, field: number)) { typeReader, number, value in
                    guard number == 1 else { return }
                    try decoder.fields(try typeReader.range(value, field: number)) { tensorReader, number, value in
                        switch number {
                        case 1: elementType = ONNXProto.DataType(rawValue: try tensorReader.int64(value, field: number))
                        case 2: shape = try Self.shape(decoder, try tensorReader.range(value, field: number))
                        default: break
                        }
                    }
                }
            default: break
            }
        }
    }

    private static func shape(_ decoder: ONNXProto.Decoder, _ range: Range<Int>) throws -> [ONNXProto.Dimension] {
        var result: [ONNXProto.Dimension] = []
        try decoder.fields(range) { reader, number, value in
            guard number == 1 else { return }
            guard result.count < ONNXProto.maximumRank else {
                throw ProtobufReader.Failure(offset: range.lowerBound, detail: "a shape has more than \(ONNXProto.maximumRank) dimensions")
            }
            var dimension = ONNXProto.Dimension.unknown
            try decoder.fields(try reader.range(value, field: number)) { dimReader, number, value in
                switch number {
                case 1: dimension = .value(Int(clamping: try dimReader.int64(value, field: number)))
                case 2: dimension = .parameter(try dimReader.string(value, field: number))
                default: break
                }
            }
            result.append(dimension)
        }
        return result
    }
}
