import Foundation
import Testing
import TestSupport
@testable import RNNKit

/// One case that tools/make_torch_fixtures.py ran through real PyTorch.
struct TorchCase: Decodable, CustomTestStringConvertible, Sendable {
    let name: String
    let mode: String
    let nonlinearity: String?
    let projSize: Int
    let hasC0: Bool
    let hasLengths: Bool
    let inputSize: Int
    let hiddenSize: Int
    let numLayers: Int
    let bias: Bool
    let bidirectional: Bool
    let batchFirst: Bool
    let unbatched: Bool
    let hasH0: Bool
    let dtype: String
    let prefix: String
    let noMetadata: Bool
    let cell: Bool

    enum CodingKeys: String, CodingKey {
        case name, mode, nonlinearity, bias, bidirectional, unbatched, dtype, prefix, cell
        case projSize = "proj_size", hasC0 = "has_c0", hasLengths = "has_lengths"
        case inputSize = "input_size", hiddenSize = "hidden_size", numLayers = "num_layers"
        case batchFirst = "batch_first", hasH0 = "has_h0", noMetadata = "no_metadata"
    }

    var testDescription: String { name }
    func file(_ name: String) -> URL { Repository.fixture("torch/\(self.name)/\(name)") }

    /// What a user of this file must say: the fixtures record only the nonlinearity as metadata.
    var options: RNNLoadOptions {
        RNNLoadOptions(
            prefix: prefix.isEmpty ? nil : prefix,
            nonlinearity: noMetadata ? nonlinearity.flatMap(Nonlinearity.init(rawValue:)) : nil,
            batchFirst: batchFirst)
    }

    /// Runs `rnn` on this case's inputs (h0, c0 and lengths when present).
    func forward(_ rnn: RNN) throws -> RNNOutput {
        let inputs = try TensorFile.read(contentsOf: file("inputs.npz"))
        return try rnn.forward(inputs["input"]!, h0: inputs["h0"], c0: inputs["c0"], lengths: inputs["lengths"]?.integerValues())
    }

    /// Checks `result` against torch's outputs in expected.npz (`output`, `h_n`, and `c_n` for an LSTM): the same
    /// dtype and shape, and every element within `Tolerance.default(for: precision)` by numpy.allclose's rule.
    func expectMatchesTorch(_ result: RNNOutput, precision: Precision,
                            sourceLocation: SourceLocation = #_sourceLocation) throws {
        let expected = try TensorFile.read(contentsOf: file("expected.npz"))
        let tolerance = Tolerance.default(for: precision)
        #expect((result.cN != nil) == (mode == "lstm"), "\(name): c_n", sourceLocation: sourceLocation)
        var pairs = [("output", result.output), ("h_n", result.hN)]
        if let cN = result.cN { pairs.append(("c_n", cN)) }
        for (tensor, actual) in pairs {
            let torch = try #require(expected[tensor], "\(name): expected.npz has no \(tensor)", sourceLocation: sourceLocation)
            let comparison = try TensorComparison(actual: actual, expected: torch, atol: tolerance.atol, rtol: tolerance.rtol)
            #expect(comparison.matches, "\(name) \(tensor): shape \(actual.shape) vs \(comparison.expectedShape), max abs \(comparison.maxAbsoluteError), max rel \(comparison.maxRelativeError), \(comparison.failing) failing",
                    sourceLocation: sourceLocation)
            #expect(actual.dtype == torch.dtype, "\(name) \(tensor)", sourceLocation: sourceLocation)
        }
    }

    static let all: [TorchCase] = {
        struct Cases: Decodable { let cases: [TorchCase] }
        let data = try! Data(contentsOf: Repository.fixture("torch/cases.json"))
        return try! JSONDecoder().decode(Cases.self, from: data).cases
    }()
}

