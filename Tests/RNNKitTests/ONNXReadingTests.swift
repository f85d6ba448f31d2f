import Foundation
import Testing
import TestSupport
@testable import RNNKit

/// ONNX models read as PyTorch state_dicts (`ONNXFormat`): the fixtures of tools/onnx_fixtures.py (exported by
/// torch's exporters or built with onnx.helper, their outputs computed by torch or ONNX Runtime), our own
/// exports read back, and the graphs that are refused.
struct ONNXReadingTests {
    typealias Case = ONNXFixture

    struct Other: CustomTestStringConvertible, Sendable {
        let fixture: Case
        let module: ONNXFixture.Module
        var testDescription: String { "\(fixture.name) \(module.prefix)" }
    }

    /// Checks `result` against `expected` (an expected.npz of the fixture) within the float32 tolerances.
    static func expectMatches(_ result: RNNOutput, _ expectedFile: URL, _ name: String) throws {
        let expected = try TensorFile.read(contentsOf: expectedFile)
        let tolerance = Tolerance.default(for: .float32)
        var pairs = [("output", result.output), ("h_n", result.hN)]
        if let cN = result.cN { pairs.append(("c_n", cN)) }
        #expect(Set(expected.names) == Set(pairs.map(\.0)), "\(name)")
        for (tensor, actual) in pairs {
            let reference = try #require(expected[tensor], "\(name): no \(tensor)")
            let comparison = try TensorComparison(actual: actual, expected: reference, atol: tolerance.atol, rtol: tolerance.rtol)
            #expect(comparison.matches, "\(name) \(tensor): shape \(actual.shape) vs \(comparison.expectedShape), max abs \(comparison.maxAbsoluteError), \(comparison.failing) failing")
        }
    }

    static func forward(_ rnn: RNN, inputs url: URL) throws -> RNNOutput {
        let inputs = try TensorFile.read(contentsOf: url)
        return try rnn.forward(inputs["input"]!, h0: inputs["h0"], c0: inputs["c0"], lengths: inputs["lengths"]?.integerValues())
    }

    /// The fixtures must keep covering what the reader has to get right.
    @Test func theFixturesCoverTheExportersAndTheSemantics() {
        let all = Case.all
        #expect(Set(Case.verifying.map(\.mode)) == ["rnn", "lstm", "gru"])
        #expect(all.contains { $0.source == "torch-legacy" && $0.expect == "verifies" })
        #expect(all.contains { $0.source == "torch-dynamo" && $0.expect == "refused" })
        #expect(Case.verifying.contains { $0.source == "torch-dynamo" && $0.numLayers > 1 && $0.bidirectional })
        #expect(all.contains { $0.source == "onnx-helper" && $0.reference == "onnxruntime" })
        #expect(Case.verifying.contains { $0.reverse } && Case.verifying.contains { $0.batchFirst })
        #expect(Case.verifying.contains { $0.bidirectional && $0.numLayers > 1 })
        #expect(Case.verifying.contains { $0.prefix.contains("then_branch") })
        #expect(Case.refused.contains { $0.refusal?.contains("no RNN, LSTM or GRU node") == true })
        #expect(Case.verifying.contains { $0.prefix.contains("then_branch") && $0.also.contains { $0.prefix.contains("else_branch") } })
        #expect(Case.verifying.contains { $0.source == "torch-legacy" && !$0.also.isEmpty })
    }

    /// Each verifying fixture, loaded from its .onnx, computes what torch or ONNX Runtime computed.
    @Test(arguments: Case.verifying)
    func fixtureGivesItsFrameworksOutputs(_ fixture: Case) throws {
        let rnn = try RNN(contentsOf: fixture.file("model.onnx"), options: fixture.options)
        let c = rnn.configuration
        #expect(c.mode.rawValue == fixture.mode && c.numLayers == fixture.numLayers && c.bidirectional == fixture.bidirectional)
        #expect(c.batchFirst == fixture.batchFirst && c.reverse == fixture.reverse, "\(c)")
        try Self.expectMatches(try Self.forward(rnn, inputs: fixture.file("inputs.npz")), fixture.file("expected.npz"), fixture.name)
    }

    /// Read as tensors, each fixture gives back the state_dict it was exported from (or, for graphs built by
    /// hand, the PyTorch tensors tools/onnx_fixtures.py computed from W, R and B), tensor for tensor, bit for bit:
    /// every recurrent module of the file, not only the one the fixture verifies.
    @Test(arguments: Case.verifying)
    func fixtureGivesBackItsStateDict(_ fixture: Case) throws {
        let dict = try TensorFile.read(contentsOf: fixture.file("model.onnx"))
        let expected = try TensorFile.read(contentsOf: fixture.file("state_dict.npz"))
        let theirs = expected.names.filter { name in
            // A torch model's other layers (a Linear head) are not recurrent nodes.
            RNNModuleFinder.split(name).local.contains("_ih") || RNNModuleFinder.split(name).local.contains("_hh")
        }
        // Modules come in the file's order (an If's attributes are sorted by name: else_branch first).
        #expect(Set(dict.names) == Set(theirs) && dict.names.count == theirs.count, "\(fixture.name): \(dict.names) vs \(theirs)")
        for name in theirs {
            #expect(dict[name] == expected[name], "\(fixture.name): \(name)")
        }
    }

    /// The other module of a file with two (a nested model's decoder, an `If`'s other branch), chosen by its
    /// prefix, computes what its framework computed on its own inputs.
    @Test(arguments: Case.verifying.flatMap { fixture in fixture.also.map { Other(fixture: fixture, module: $0) } })
    func otherModuleGivesItsOutputs(_ other: Other) throws {
        let fixture = other.fixture, module = other.module
        let rnn = try RNN(contentsOf: fixture.file("model.onnx"), options: RNNLoadOptions(prefix: module.prefix))
        let c = rnn.configuration
        #expect(rnn.prefix == module.prefix && c.mode.rawValue == module.mode && c.numLayers == module.numLayers)
        #expect(c.bidirectional == module.bidirectional && c.batchFirst == module.batchFirst)
        #expect(c.inputSize == module.inputSize && c.hiddenSize == module.hiddenSize)
        try Self.expectMatches(try Self.forward(rnn, inputs: fixture.file(module.inputs)), fixture.file(module.expected),
                               "\(fixture.name) \(module.prefix)")
    }

    /// Graphs whose recurrence was unrolled, or whose nodes use what PyTorch has not, are refused by name.
    @Test(arguments: Case.refused)
    func refusedFixtureSaysWhy(_ fixture: Case) throws {
        let error = fileError(fixture.name) { _ = try TensorFile.read(contentsOf: fixture.file("model.onnx")) }
        let refusal = try #require(fixture.refusal)
        #expect(error?.description.contains(refusal) == true, "\(String(describing: error))")
        #expect(error?.description.contains("\n") == false)
    }

    /// Every model we export reads back to the same tensors, prefix and configuration.
    @Test(arguments: ONNXExportTests.expressible)
    func ourExportReadsBackIdentically(_ fixture: TorchCase) throws {
        let rnn = try RNN(contentsOf: fixture.file("model.npz"), options: fixture.options)
        let dict = try TensorFile.read(Data(try rnn.onnxModel()), name: "\(fixture.name).onnx")
        let again = try RNN(stateDict: dict)
        #expect(again.configuration == rnn.configuration, "\(again.configuration) vs \(rnn.configuration)")
        #expect(again.prefix == rnn.prefix && again.isCell == rnn.isCell)
        #expect(again.tensors == rnn.tensors)
    }

    /// The reset-before GRU and a reverse model, which PyTorch has not, round-trip through ONNX too.
    @Test func resetBeforeAndReverseModelsReadBack() throws {
        let gru = try RNN(contentsOf: Repository.fixture("keras/gru_reset_before/model.keras"))
        #expect(gru.configuration.isResetBeforeGRU)
        let again = try RNN(stateDict: try TensorFile.read(Data(try gru.onnxModel()), name: "gru.onnx"))
        #expect(again.configuration == gru.configuration && again.tensors == gru.tensors)

        let fixture = try #require(Case.verifying.first { $0.reverse })
        let reverse = try RNN(contentsOf: fixture.file("model.onnx"), options: fixture.options)
        let back = try RNN(stateDict: try TensorFile.read(Data(try reverse.onnxModel()), name: "reverse.onnx"))
        #expect(back.configuration == reverse.configuration && back.configuration.reverse)
        #expect(back.tensors == reverse.tensors)
        // And it still computes what ONNX Runtime computed.
        try Self.expectMatches(try Self.forward(back, inputs: fixture.file("inputs.npz")), fixture.file("expected.npz"), fixture.name)
    }

    /// A reverse model has no PyTorch or Keras form and cannot stream; the errors say so.
    @Test func reverseModelRefusesPyTorchNamesKerasAndStreaming() throws {
        let fixture = try #require(Case.verifying.first { $0.reverse })
        let rnn = try RNN(contentsOf: fixture.file("model.onnx"), options: fixture.options)
        #expect(throws: RNNExportError.readsBackwards(prefix: rnn.prefix)) { _ = try rnn.stateDict() }
        #expect(throws: RNNExportError.self) { _ = try rnn.kerasLayers() }
        #expect(throws: RNNInputError.bidirectionalStream) { _ = try rnn.makeStream() }
    }
}

extension ONNXFixture {
    /// The module the fixture verifies.
    var options: RNNLoadOptions { RNNLoadOptions(prefix: prefix.isEmpty ? nil : prefix) }
}
