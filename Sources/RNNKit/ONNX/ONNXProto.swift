/// The ONNX messages an exported RNN uses, with the field numbers of onnx/onnx.proto (ModelProto,
/// GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto with its TypeProto and
/// TensorShapeProto, OperatorSetIdProto, StringStringEntryProto). Fields we never set are left out.
///
/// onnx.proto is proto2 without `[packed = true]` on the repeated scalars we use (`dims`, `ints`), so those are
/// written one tag per element, as protobuf's own serializer writes them.
enum ONNXProto {
    /// `TensorProto.DataType` values.
    enum DataType: Int64 {
        case float = 1
        case int32 = 6
        case int64 = 7
        case double = 11
    }

    /// `ModelProto`: the file's top-level message.
    struct Model {
        var irVersion: Int64
        var opsetImports: [OperatorSetID]
        var producerName: String
        var docString: String
        var graph: Graph
        var metadata: [(key: String, value: String)]

        /// The encoded message; the initializers' weights are deferred fields, produced when it is written.
        func encoded() -> ProtobufWriter {
            var writer = ProtobufWriter()
            writer.appendInt(1, irVersion)  // ir_version
            writer.appendString(2, producerName)  // producer_name
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
    struct OperatorSetID {
        var domain: String
        var version: Int64

        func encode(into writer: inout ProtobufWriter) {
            writer.appendString(1, domain)
            writer.appendInt(2, version)
        }
    }

    /// `GraphProto`: nodes in topological order, constant tensors, and the graph's inputs and outputs.
    struct Graph {
        var name: String
        var docString: String
        var nodes: [Node] = []
        var initializers: [Tensor] = []
        var inputs: [ValueInfo] = []
        var outputs: [ValueInfo] = []

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
    struct Node {
        var opType: String
        var name: String
        var inputs: [String]
        var outputs: [String]
        var attributes: [Attribute] = []

        func encode(into writer: inout ProtobufWriter) {
            for input in inputs { writer.appendString(1, input) }
            for output in outputs { writer.appendString(2, output) }
            writer.appendString(3, name)
            writer.appendString(4, opType)
            for attribute in attributes { writer.appendMessage(5) { attribute.encode(into: &$0) } }
        }
    }

    /// `AttributeProto` with the value kinds the recurrent operators and the reshaping around them take.
    struct Attribute {
        enum Value {
            case int(Int64)
            case ints([Int64])
            case string(String)
            case strings([String])
        }

        var name: String
        var value: Value

        init(_ name: String, _ value: Value) {
            self.name = name
            self.value = value
        }

        func encode(into writer: inout ProtobufWriter) {
            writer.appendString(1, name)
            // `type` (field 20) is the AttributeType enum: INT 2, STRING 3, INTS 7, STRINGS 8.
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
            }
        }
    }

    /// `TensorProto` holding its elements as `raw_data`: fixed-width, little-endian, row-major.
    struct Tensor {
        /// The `raw_data` bytes: in hand (small constants), or produced as the model is written (weights).
        enum RawData {
            case bytes([UInt8])
            case deferred(ProtobufWriter.DeferredBytes)
        }

        var name: String
        var dataType: DataType
        var dims: [Int]
        var rawData: RawData

        func encode(into writer: inout ProtobufWriter) {
            for dim in dims { writer.appendInt(1, Int64(dim)) }  // dims
            writer.appendInt(2, dataType.rawValue)  // data_type
            writer.appendString(8, name)  // name
            switch rawData {  // raw_data
            case .bytes(let bytes): writer.appendBytes(9, bytes)
            case .deferred(let bytes): writer.appendBytes(9, bytes)
            }
        }
    }

    /// One dimension of a declared shape: a fixed size or a symbolic name shared by every value that has it.
    enum Dimension {
        case value(Int)
        case parameter(String)
    }

    /// `ValueInfoProto` of a tensor: name, element type and (partly symbolic) shape.
    struct ValueInfo {
        var name: String
        var elementType: DataType
        var shape: [Dimension]

        func encode(into writer: inout ProtobufWriter) {
            writer.appendString(1, name)
            writer.appendMessage(2) { type in  // type: TypeProto
                type.appendMessage(1) { tensorType in  // tensor_type: TypeProto.Tensor
                    tensorType.appendInt(1, elementType.rawValue)  // elem_type
                    tensorType.appendMessage(2) { shapeProto in  // shape: TensorShapeProto
                        for dimension in shape {
                            shapeProto.appendMessage(1) { dim in  // dim: TensorShapeProto.Dimension
                                switch dimension {
                                case .value(let size): dim.appendInt(1, Int64(size))  // dim_value
                                case .parameter(let name): dim.appendString(2, name)  // dim_param
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
