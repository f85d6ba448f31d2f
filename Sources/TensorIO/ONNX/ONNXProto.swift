/// The ONNX messages the toolkit writes and reads, with the field numbers of onnx/onnx.proto (ModelProto,
/// GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto with its TypeProto and
/// TensorShapeProto, OperatorSetIdProto, StringStringEntryProto): `encode` here, decoding in
/// `ONNXProto+Decoding.swift`. Fields neither side uses are left out (the decoder skips them).
///
/// onnx.proto is proto2 without `[packed = true]` on the repeated scalars we use (`dims`, `ints`), so those are
/// written one tag per element, as protobuf's own serializer writes them.
package enum ONNXProto {
    /// A `TensorProto.DataType` value: any number a file holds, with names for the ones the toolkit knows.
    package struct DataType: RawRepresentable, Hashable, Sendable {
        package var rawValue: Int64
        package init(rawValue: Int64) { self.rawValue = rawValue }

        package static let undefined = DataType(rawValue: 0)
        package static let float = DataType(rawValue: 1)
        package static let uint8 = DataType(rawValue: 2)
        package static let int8 = DataType(rawValue: 3)
        package static let uint16 = DataType(rawValue: 4)
        package static let int16 = DataType(rawValue: 5)
        package static let int32 = DataType(rawValue: 6)
        package static let int64 = DataType(rawValue: 7)
        package static let string = DataType(rawValue: 8)
        package static let bool = DataType(rawValue: 9)
        package static let float16 = DataType(rawValue: 10)
        package static let double = DataType(rawValue: 11)
        package static let uint32 = DataType(rawValue: 12)
        package static let uint64 = DataType(rawValue: 13)
        package static let bfloat16 = DataType(rawValue: 16)

        private static let dtypes: [Int64: DType] = [
            1: .float32, 2: .uint8, 3: .int8, 4: .uint16, 5: .int16, 6: .int32, 7: .int64, 9: .bool,
            10: .float16, 11: .float64, 12: .uint32, 13: .uint64, 16: .bfloat16,
        ]
        private static let names: [Int64: String] = [
            0: "UNDEFINED", 8: "STRING", 14: "COMPLEX64", 15: "COMPLEX128", 17: "FLOAT8E4M3FN", 18: "FLOAT8E4M3FNUZ",
            19: "FLOAT8E5M2", 20: "FLOAT8E5M2FNUZ", 21: "UINT4", 22: "INT4", 23: "FLOAT4E2M1",
        ]

        /// The library's element type for this ONNX type, or nil (strings, complex, 8- and 4-bit types).
        package var dtype: DType? { Self.dtypes[rawValue] }

        /// The type for one of the library's element types.
        package init(_ dtype: DType) {
            rawValue = Self.dtypes.first { $0.value == dtype }!.key
        }

        /// The element type's name as people see it: the library's (`float32`) or ONNX's (`STRING`).
        package var name: String { dtype?.rawValue ?? Self.names[rawValue] ?? "data type \(rawValue)" }
    }

    /// `ModelProto`: the file's top-level message.
    package struct Model {
        package var irVersion: Int64
        package var opsetImports: [OperatorSetID]
        package var producerName: String
        package var docString: String
        package var graph: Graph
        package var metadata: [(key: String, value: String)]
        /// `producer_version` (read from files; the toolkit's own models leave it empty).
        package var producerVersion = ""

        package init(irVersion: Int64, opsetImports: [OperatorSetID], producerName: String, docString: String,
                     graph: Graph, metadata: [(key: String, value: String)]) {
            self.irVersion = irVersion
            self.opsetImports = opsetImports
            self.producerName = producerName
            self.docString = docString
            self.graph = graph
            self.metadata = metadata
        }

        /// The encoded message; the initializers' weights are deferred fields, produced when it is written.
        package func encoded() -> ProtobufWriter {
            var writer = ProtobufWriter()
            writer.appendInt(1, irVersion)  // ir_version
            writer.appendString(2, producerName)  // producer_name
            if !producerVersion.isEmpty { writer.appendString(3, producerVersion) }  // producer_version
            writer.appendString(6, docString)  // doc_string
            writer.appendMessage(7) { graph.encode(into: &$0) }  // graph
            for opset in opsetImports {
                writer.appendMessage(8) { opset.encode(into: &$0) }  // opset_import
            }
            for (key, value) in metadata {
                writer.appendMessage(14) {  // metadata_props: StringStringEntryProto
                    $0.appendString(1, key)
                    $0.appendString(2, value)
                }
            }
            return writer
        }
    }

    /// `OperatorSetIdProto`: the operator set a model's nodes bind to (empty domain: the ONNX standard ops).
    package struct OperatorSetID {
        package var domain: String
        package var version: Int64

        package init(domain: String, version: Int64) {
            self.domain = domain
            self.version = version
        }

        func encode(into writer: inout ProtobufWriter) {
            writer.appendString(1, domain)
            writer.appendInt(2, version)
        }
    }

    /// `GraphProto`: nodes in topological order, constant tensors, and the graph's inputs and outputs.
    package struct Graph {
        package var name: String
        package var docString: String
        package var nodes: [Node] = []
        package var initializers: [Tensor] = []
        package var inputs: [ValueInfo] = []
        package var outputs: [ValueInfo] = []

        package init(name: String, docString: String) {
            self.name = name
            self.docString = docString
        }

        func encode(into writer: inout ProtobufWriter) {
            for node in nodes { writer.appendMessage(1) { node.encode(into: &$0) } }
            writer.appendString(2, name)
            for tensor in initializers { writer.appendMessage(5) { tensor.encode(into: &$0) } }
            writer.appendString(10, docString)
            for input in inputs { writer.appendMessage(11) { input.encode(into: &$0) } }
            for output in outputs { writer.appendMessage(12) { output.encode(into: &$0) } }
        }
    }

    /// `NodeProto`: one operator call; an empty input name stands for an omitted optional input.
    package struct Node {
        package var opType: String
        package var name: String
        package var inputs: [String]
        package var outputs: [String]
        package var attributes: [Attribute] = []
        /// The operator set's domain; empty for the ONNX standard operators ("ai.onnx" means the same).
        package var domain: String = ""

        package init(opType: String, name: String, inputs: [String], outputs: [String], attributes: [Attribute] = []) {
            self.opType = opType
            self.name = name
            self.inputs = inputs
            self.outputs = outputs
            self.attributes = attributes
        }

        /// The attribute named `name`, if the node has it.
        package func attribute(_ name: String) -> Attribute.Value? {
            attributes.first { $0.name == name }?.value
        }

        func encode(into writer: inout ProtobufWriter) {
            for input in inputs { writer.appendString(1, input) }
            for output in outputs { writer.appendString(2, output) }
            writer.appendString(3, name)
            writer.appendString(4, opType)
            for attribute in attributes { writer.appendMessage(5) { attribute.encode(into: &$0) } }
            if !domain.isEmpty { writer.appendString(7, domain) }
        }
    }

    /// `AttributeProto` with the value kinds the recurrent operators and the reshaping around them take.
    package struct Attribute {
        package enum Value {
            case int(Int64)
            case ints([Int64])
            case string(String)
            case strings([String])
            case float(Float)
            case floats([Float])
            case tensor(Tensor)
            case graph(Graph)
            case graphs([Graph])
            /// A kind the toolkit does not read (tensors, sparse tensors, type protos): its `AttributeType`.
            case other(Int64)
        }

        package var name: String
        package var value: Value

        package init(_ name: String, _ value: Value) {
            self.name = name
            self.value = value
        }

        func encode(into writer: inout ProtobufWriter) {
            writer.appendString(1, name)
            // `type` (field 20) is the AttributeType enum: FLOAT 1, INT 2, STRING 3, TENSOR 4, GRAPH 5, FLOATS 6,
            // INTS 7, STRINGS 8, GRAPHS 10.
            switch value {
            case .int(let value):
                writer.appendInt(20, 2)
                writer.appendInt(3, value)  // i
            case .string(let value):
                writer.appendInt(20, 3)
                writer.appendString(4, value)  // s
            case .ints(let values):
                writer.appendInt(20, 7)
                for value in values { writer.appendInt(8, value) }  // ints
            case .strings(let values):
                writer.appendInt(20, 8)
                for value in values { writer.appendString(9, value) }  // strings
            case .float(let value):
                writer.appendInt(20, 1)
                writer.appendFloat(2, value)  // f
            case .floats(let values):
                writer.appendInt(20, 6)
                for value in values { writer.appendFloat(7, value) }  // floats
            case .tensor(let tensor):
                writer.appendInt(20, 4)
                writer.appendMessage(5) { tensor.encode(into: &$0) }  // t
            case .graph(let graph):
                writer.appendInt(20, 5)
                writer.appendMessage(6) { graph.encode(into: &$0) }  // g
            case .graphs(let graphs):
                writer.appendInt(20, 10)
                for graph in graphs { writer.appendMessage(11) { graph.encode(into: &$0) } }  // graphs
            case .other(let type):
                writer.appendInt(20, type)
            }
        }
    }

    /// `TensorProto`: a constant's name, element type, dimensions and elements. The toolkit writes elements as
    /// `raw_data` (fixed-width, little-endian, row-major); a file may hold them in any of ONNX's places.
    package struct Tensor {
        /// Where the elements are.
        package enum Data {
            /// `raw_data` in hand (small constants).
            case bytes([UInt8])
            /// `raw_data` produced as the model is written (weights).
            case deferred(ProtobufWriter.DeferredBytes)
            /// `raw_data` read from a file: a range of the bytes it was decoded from.
            case raw(Range<Int>)
            /// `float_data`.
            case floats([Float])
            /// `double_data`.
            case doubles([Double])
            /// `int32_data`, `int64_data` or `uint64_data` (the latter's bits as `Int64`), per the data type.
            case integers([Int64])
            /// `external_data` with `data_location` EXTERNAL: `location`, `offset`, `length` and so on.
            case external([(key: String, value: String)])
            /// No elements at all (an empty tensor, or one a file forgot to fill).
            case none
        }

        package var name: String
        package var dataType: DataType
        package var dims: [Int]
        package var data: Data

        package init(name: String, dataType: DataType, dims: [Int], data: Data) {
            self.name = name
            self.dataType = dataType
            self.dims = dims
            self.data = data
        }

        func encode(into writer: inout ProtobufWriter) {
            for dim in dims { writer.appendInt(1, Int64(dim)) }  // dims
            writer.appendInt(2, dataType.rawValue)  // data_type
            writer.appendString(8, name)  // name
            switch data {
            case .bytes(let bytes): writer.appendBytes(9, bytes)  // raw_data
            case .deferred(let bytes): writer.appendBytes(9, bytes)
            case .floats(let values): for value in values { writer.appendFloat(4, value) }
            case .doubles(let values): for value in values { writer.appendDouble(10, value) }
            case .integers(let values):
                let field = dataType == .int64 ? 7 : dataType == .uint64 || dataType == .uint32 ? 11 : 5
                for value in values { writer.appendInt(field, value) }
            case .external(let entries):
                for (key, value) in entries {
                    writer.appendMessage(13) {
                        $0.appendString(1, key)
                        $0.appendString(2, value)
                    }
                }
                writer.appendInt(14, 1)  // data_location: EXTERNAL
            case .raw, .none:
                break  // a decoded file's range means nothing in another message
            }
        }
    }

    /// One dimension of a declared shape: a fixed size or a symbolic name shared by every value that has it.
    package enum Dimension: Equatable {
        case value(Int)
        case parameter(String)
        /// Neither: a dimension of unknown size.
        case unknown
    }

    /// `ValueInfoProto` of a tensor: name, element type and (partly symbolic) shape.
    package struct ValueInfo {
        package var name: String
        /// The element type of a tensor value; `.undefined` for other kinds (sequences, maps, optionals).
        package var elementType: DataType
        /// The declared shape, or nil when the value declares none (any rank).
        package var shape: [Dimension]?

        package init(name: String, elementType: DataType, shape: [Dimension]?) {
            self.name = name
            self.elementType = elementType
            self.shape = shape
        }

        func encode(into writer: inout ProtobufWriter) {
            writer.appendString(1, name)
            guard let shape else { return }
            writer.appendMessage(2) { type in  // type: TypeProto
                type.appendMessage(1) { tensorType in  // tensor_type: TypeProto.Tensor
                    tensorType.appendInt(1, elementType.rawValue)  // elem_type
                    tensorType.appendMessage(2) { shapeProto in  // shape: TensorShapeProto
                        for dimension in shape {
                            shapeProto.appendMessage(1) { dim in  // dim: TensorShapeProto.Dimension
                                switch dimension {
                                case .value(let size): dim.appendInt(1, Int64(size))  // dim_value
                                case .parameter(let name): dim.appendString(2, name)  // dim_param
                                case .unknown: break
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
