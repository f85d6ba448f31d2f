import Foundation
import Testing
import TestSupport
@testable import RNNKit

/// One Keras fixture (tools/keras_fixtures.py: models saved by Keras 3 itself, with Keras's outputs).
struct KerasCase: CustomTestStringConvertible, Sendable {
    struct Fixture: Decodable {
        let modules: [String]
        let weights_h5_flags: [String]
        let mode: String?
        let reset_after: Bool?
        let nonlinearity: String?
        /// Tensors of layers that are not recurrent (Embedding, Dense), left out of the module.
        let other_tensors: Int?
    }
    let name: String
    let fixture: Fixture
    var testDescription: String { name }

    func file(_ name: String) -> URL { Repository.fixture("keras/\(self.name)/\(name)") }

    /// The model files the fixture has: all three kinds, but lstm_keras2_style (a legacy .h5 alone).
    var files: [String] {
        ["model.keras", "model.h5", "model.weights.h5"].filter { FileManager.default.fileExists(atPath: file($0).path) }
    }

    /// What `weights_h5_flags` say, as load options (a .weights.h5 has no configuration).
    var weightsOptions: RNNLoadOptions {
        var options = RNNLoadOptions()
        if fixture.weights_h5_flags.contains("relu") { options.nonlinearity = .relu }
        if fixture.weights_h5_flags.contains("--reset-after") { options.resetAfter = false }
        return options
    }

    var isResetBefore: Bool { fixture.mode == "gru" && fixture.reset_after == false }

    static let all: [KerasCase] = {
        let root = Repository.fixture("keras")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.sorted().map { name in
            let data = try! Data(contentsOf: root.appending(path: "\(name)/fixture.json"))
            return KerasCase(name: name, fixture: try! JSONDecoder().decode(Fixture.self, from: data))
        }
    }()
}

/// Keras files read through the library reproduce Keras's outputs and hold the PyTorch tensors the mapping gives;
/// what we write reads back as the same model.
struct KerasTests {
    @Test func everyFixtureIsHere() {
        // 19 fixtures today (tools/keras_fixtures.py); update when fixtures are added or removed.
        #expect(KerasCase.all.count == 19)
        let files: Int = KerasCase.all.map { $0.files.count }.reduce(0, +)
        #expect(files == 3 * 18 + 1)
    }

    @Test(arguments: KerasCase.all)
    func kerasOutputsAreReproduced(_ fixture: KerasCase) throws {
        for file in fixture.files {
        for module in fixture.fixture.modules {
            var options = file == "model.weights.h5" ? fixture.weightsOptions : RNNLoadOptions()
            if !module.isEmpty { options.prefix = module }
            let rnn = try RNN(contentsOf: fixture.file(file), options: options)
            #expect(rnn.configuration.batchFirst, "Keras is batch-first")
            let suffix = module.isEmpty ? "" : ".\(module)"
            let inputs = try TensorFile.read(contentsOf: fixture.file("inputs\(suffix).npz"))
            let expected = try TensorFile.read(contentsOf: fixture.file("expected\(suffix).npz"))
            let result = try rnn.forward(try #require(inputs["input"]), h0: inputs["h0"], c0: inputs["c0"])
            let tolerance = Tolerance.default(for: .float32)
            for (name, actual) in [("output", result.output), ("h_n", result.hN)] + (result.cN.map { [("c_n", $0)] } ?? []) {
                let comparison = try TensorComparison(actual: actual, expected: try #require(expected[name]), atol: tolerance.atol, rtol: tolerance.rtol)
                #expect(comparison.matches, "\(fixture.name)/\(file) \(module) \(name): max abs error \(comparison.maxAbsoluteError)")
            }
        }
        }
    }

    @Test(arguments: KerasCase.all)
    func tensorsAreThoseTheMappingGives(_ fixture: KerasCase) throws {
        let reference = try TensorFile.read(contentsOf: fixture.file("torch.npz"))
        for file in fixture.files {
        for module in fixture.fixture.modules {
            var options = file == "model.weights.h5" ? fixture.weightsOptions : RNNLoadOptions()
            if !module.isEmpty { options.prefix = module }
            let rnn = try RNN(contentsOf: fixture.file(file), options: options)
            for (name, tensor) in rnn.tensors {
                let full = module.isEmpty ? name : "\(module).\(name)"
                #expect(reference[full] == tensor, "\(fixture.name)/\(file): \(full)")
            }
            #expect(rnn.tensors.count == reference.tensors.keys.filter { module.isEmpty || $0.hasPrefix(module + ".") }.count)
            if let others = fixture.fixture.other_tensors {
                #expect(try TensorFile.read(contentsOf: fixture.file(file)).tensors.count - rnn.tensors.count == others)
            }
            #expect(rnn.configuration.isResetBeforeGRU == fixture.isResetBefore)
            if fixture.isResetBefore {
                #expect(throws: RNNExportError.noPyTorchEquivalent(prefix: "")) { try rnn.stateDict() }
            }
        }
        }
    }

    /// Written as .keras and .weights.h5 and read back: the same configuration, and outputs within float32
    /// rounding (LSTM and SimpleRNN biases are summed into Keras's one row).
    @Test(arguments: KerasCase.all.filter { $0.fixture.modules == [""] && $0.files.contains("model.keras") })
    func writtenKerasFilesReadBackAsTheSameModel(_ fixture: KerasCase) throws {
        let rnn = try RNN(contentsOf: fixture.file("model.keras"))
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try rnn.writeKeras(to: folder.file("again.keras"))
        try rnn.writeKerasWeights(to: folder.file("again.weights.h5"))
        let inputs = try TensorFile.read(contentsOf: fixture.file("inputs.npz"))
        let original = try rnn.forward(try #require(inputs["input"]), h0: inputs["h0"], c0: inputs["c0"])
        for (file, options) in [("again.keras", RNNLoadOptions()), ("again.weights.h5", fixture.weightsOptions)] {
            let again = try RNN(contentsOf: folder.file(file), options: options)
            #expect(again.configuration == rnn.configuration, "\(file)")
            let result = try again.forward(try #require(inputs["input"]), h0: inputs["h0"], c0: inputs["c0"])
            let comparison = try TensorComparison(actual: result.output, expected: original.output, atol: 1e-5, rtol: 1.3e-6)
            #expect(comparison.matches, "\(file): \(comparison.maxAbsoluteError)")
        }
    }

    @Test func kerasBytesReadAsTheFile() throws {
        let url = Repository.fixture("keras/bidirectional_gru/model.keras")
        #expect(try TensorFile.read(Data(contentsOf: url), name: "m.keras") == TensorFile.read(contentsOf: url))
        #expect(try RNN(data: Data(contentsOf: url)).configuration == RNN(contentsOf: url).configuration)
    }

    @Test func projectionCannotBeWrittenForKeras() throws {
        let rnn = try RNN(contentsOf: Repository.fixture("torch/lstm_l2_bi_proj_h0c0_f32/model.npz"))
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        #expect(throws: RNNExportError.self) { try rnn.writeKeras(to: folder.file("m.keras")) }
        #expect(try folder.contents().isEmpty)
    }

    @Test func weightsFileSaysWhatItAssumed() throws {
        let dict = try TensorFile.read(contentsOf: Repository.fixture("keras/gru_reset_before_nobias/model.weights.h5"))
        #expect(dict.metadata["keras_assumed"]?.contains("reset_after=True") == true)
        #expect(dict.metadata["reset_after"] == nil)
        let fromKeras = try TensorFile.read(contentsOf: Repository.fixture("keras/gru_reset_before_nobias/model.keras"))
        #expect(fromKeras.metadata["reset_after"] == "false")
        #expect(fromKeras.metadata["keras_assumed"] == nil)
    }
}
