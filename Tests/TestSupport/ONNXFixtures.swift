import Foundation
import Testing

/// One case of Fixtures/onnx/cases.json (tools/onnx_fixtures.py): an ONNX model exported by torch or built with
/// onnx.helper, what reading it must give (`expect`: "verifies" or "refused", with `refusal` a substring of the
/// error), and the module it holds.
public struct ONNXFixture: Decodable, CustomTestStringConvertible, Sendable {
    public let name: String
    /// "torch-legacy", "torch-dynamo" or "onnx-helper".
    public let source: String
    public let expect: String
    public let refusal: String?
    public let prefix: String
    public let mode: String
    public let numLayers: Int
    public let bidirectional: Bool
    public let batchFirst: Bool
    public let reverse: Bool
    /// GRUs only: false for the reset-before GRU (`linear_before_reset` 0).
    public let resetAfter: Bool?
    /// What computed expected.npz: "torch", "onnxruntime" or "onnx-reference".
    public let reference: String?
    /// The file's other modules, each with its own inputs and expected outputs.
    public let also: [Module]

    public struct Module: Decodable, Sendable {
        public let prefix: String
        public let mode: String
        public let numLayers: Int
        public let bidirectional: Bool
        public let batchFirst: Bool
        public let inputSize: Int
        public let hiddenSize: Int
        public let inputs: String
        public let expected: String

        enum CodingKeys: String, CodingKey {
            case prefix, mode, bidirectional, inputs, expected
            case numLayers = "num_layers", batchFirst = "batch_first", inputSize = "input_size", hiddenSize = "hidden_size"
        }
    }

    enum CodingKeys: String, CodingKey {
        case name, source, expect, refusal, prefix, mode, bidirectional, reverse, reference, also
        case numLayers = "num_layers", batchFirst = "batch_first", resetAfter = "reset_after"
    }

    public var testDescription: String { name }
    public func file(_ name: String) -> URL { Repository.fixture("onnx/\(self.name)/\(name)") }
    /// A model no PyTorch module computes: its tensors under PyTorch's names would load and compute something else.
    public var hasNoPyTorchEquivalent: Bool { reverse || resetAfter == false }

    public static let all: [ONNXFixture] = {
        struct Cases: Decodable { let cases: [ONNXFixture] }
        return try! JSONDecoder().decode(Cases.self, from: Data(contentsOf: Repository.fixture("onnx/cases.json"))).cases
    }()
    public static let verifying = all.filter { $0.expect == "verifies" }
    public static let refused = all.filter { $0.expect == "refused" }
}

/// One case of Fixtures/torchscript/cases.json (tools/onnx_fixtures.py): a `torch.jit.save` archive, the RNN
/// module in it, and what its code holds and the archive does not (`batch_first`, `nonlinearity`).
public struct TorchScriptFixture: Decodable, CustomTestStringConvertible, Sendable {
    public let name: String
    /// "script" or "trace".
    public let how: String
    public let prefix: String
    public let mode: String
    public let batchFirst: Bool
    public let nonlinearity: String?

    enum CodingKeys: String, CodingKey {
        case name, how, prefix, mode, nonlinearity
        case batchFirst = "batch_first"
    }

    public var testDescription: String { name }
    public func file(_ name: String) -> URL { Repository.fixture("torchscript/\(self.name)/\(name)") }

    public static let all: [TorchScriptFixture] = {
        struct Cases: Decodable { let cases: [TorchScriptFixture] }
        return try! JSONDecoder().decode(Cases.self, from: Data(contentsOf: Repository.fixture("torchscript/cases.json"))).cases
    }()
}
