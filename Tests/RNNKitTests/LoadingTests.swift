import Foundation
import OrderedCollections
import Testing
import TestSupport
@testable import RNNKit

/// Every way a state_dict can fail to be a torch.nn.RNN gives its own error naming the tensor.
struct LoadingTests {
    /// A two-layer bidirectional RNN with biases, as PyTorch saved it (prefix `rnn`).
    static func valid() throws -> StateDict {
        let dict = try TensorFile.read(contentsOf: Repository.fixture("torch/l2_bi_relu_f32/model.npz"))
        var prefixed = StateDict(metadata: dict.metadata)
        for (name, tensor) in dict.tensors { prefixed["rnn.\(name)"] = tensor }
        prefixed["fc.weight"] = try Tensor(zeros: .float32, shape: [2, 10])
        return prefixed
    }

    /// The `RNNLoadError` that loading `dict` throws, or nil when it loads; any other error propagates and fails
    /// the test.
    static func error(_ dict: StateDict, _ options: RNNLoadOptions = RNNLoadOptions()) throws -> RNNLoadError? {
        do {
            _ = try RNN(stateDict: dict, options: options)
            return nil
        } catch let error as RNNLoadError {
            return error
        }
    }

    /// The `RNNInputError` that `body` throws, or nil (and an issue recorded at the caller) when it throws nothing;
    /// any other error propagates.
    static func inputError(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) throws -> RNNInputError? {
        do {
            try body()
            Issue.record("expected an RNNInputError, but nothing was thrown", sourceLocation: sourceLocation)
        } catch let error as RNNInputError {
            return error
        }
        return nil
    }

    @Test func validStateDictLoadsWithItsPrefix() throws {
        let rnn = try RNN(stateDict: Self.valid())
        #expect(rnn.prefix == "rnn")
        #expect(rnn.configuration.numLayers == 2 && rnn.configuration.bidirectional && rnn.configuration.bias)
        #expect(rnn.configuration.nonlinearity == .relu)
    }

    @Test func missingTensorIsNamed() throws {
        var dict = try Self.valid()
        dict["rnn.bias_hh_l1_reverse"] = nil
        #expect(try Self.error(dict) == .missingTensor(name: "rnn.bias_hh_l1_reverse"))
    }

    @Test func missingReverseHalfOfALayerIsNamed() throws {
        var dict = try Self.valid()
        for name in dict.names where name.hasSuffix("_l1_reverse") { dict[name] = nil }
        #expect(try Self.error(dict) == .missingTensor(name: "rnn.weight_ih_l1_reverse"))
    }

    @Test func wrongShapeSaysExpectedAndFound() throws {
        var dict = try Self.valid()
        dict["rnn.weight_hh_l1"] = try Tensor(zeros: .float32, shape: [6, 5])
        let hidden = dict["rnn.weight_hh_l0"]!.shape[0]
        #expect(try Self.error(dict) == .wrongShape(name: "rnn.weight_hh_l1", expected: [hidden, hidden], found: [6, 5]))
    }

    @Test func secondLayerInputMustBeHiddenTimesDirections() throws {
        var dict = try Self.valid()
        let hidden = dict["rnn.weight_hh_l0"]!.shape[0]
        dict["rnn.weight_ih_l1"] = try Tensor(zeros: .float32, shape: [hidden, hidden])
        #expect(try Self.error(dict) == .wrongShape(name: "rnn.weight_ih_l1", expected: [hidden, 2 * hidden], found: [hidden, hidden]))
    }

    @Test func gapInLayerNumbersIsAnError() throws {
        var dict = try Self.valid()
        var renamed = StateDict(metadata: dict.metadata)
        for (name, tensor) in dict.tensors { renamed[name.replacingOccurrences(of: "_l1", with: "_l2")] = tensor }
        dict = renamed
        #expect(try Self.error(dict) == .layerGap(prefix: "rnn", found: [0, 2]))
    }

    @Test func mixedDTypesAreAnError() throws {
        var dict = try Self.valid()
        let shape = dict["rnn.bias_ih_l0"]!.shape
        dict["rnn.bias_ih_l0"] = try Tensor(zeros: .float64, shape: shape)
        #expect(try Self.error(dict) == .mixedDTypes(name: "rnn.bias_ih_l0", expected: .float32, found: .float64))
    }

    @Test func integerWeightsAreRefused() throws {
        var dict = try Self.valid()
        let shape = dict["rnn.weight_ih_l0"]!.shape
        dict["rnn.weight_ih_l0"] = try Tensor(zeros: .int32, shape: shape)
        #expect(try Self.error(dict) == .notFloat(name: "rnn.weight_ih_l0", dtype: .int32))
    }

    @Test func biasOfRankTwoIsAWrongRank() throws {
        var dict = try Self.valid()
        let shape = dict["rnn.bias_hh_l0"]!.shape
        dict["rnn.bias_hh_l0"] = try Tensor(zeros: .float32, shape: [1] + shape)
        #expect(try Self.error(dict) == .wrongRank(name: "rnn.bias_hh_l0", expected: 1, found: 2))
    }

    @Test func unknownTensorUnderThePrefixIsUnexpected() throws {
        var dict = try Self.valid()
        dict["rnn.running_mean"] = try Tensor(zeros: .float32, shape: [2])
        #expect(try Self.error(dict) == .unexpectedTensor(name: "rnn.running_mean"))
        dict["rnn.running_mean"] = nil
        // A projection belongs only to an LSTM.
        dict["rnn.weight_hr_l0"] = try Tensor(zeros: .float32, shape: [2, 2])
        #expect(try Self.error(dict) == .unexpectedTensor(name: "rnn.weight_hr_l0"))
    }

    @Test func severalModulesNeedAPrefixAndTheErrorListsThem() throws {
        var dict = try Self.valid()
        for (name, tensor) in dict.tensors where name.hasPrefix("rnn.") { dict["decoder.\(name)"] = tensor }
        #expect(try Self.error(dict) == .ambiguous(prefixes: ["rnn", "decoder.rnn"]))
        #expect(try Self.error(dict, RNNLoadOptions(prefix: "encoder")) == .prefixNotFound(prefix: "encoder", available: ["rnn", "decoder.rnn"]))
        #expect(try RNN(stateDict: dict, options: RNNLoadOptions(prefix: "decoder.rnn")).prefix == "decoder.rnn")
    }

    @Test func noRNNTensorsAtAll() throws {
        let dict = StateDict(tensors: ["fc.weight": try Tensor(zeros: .float32, shape: [2, 2])])
        #expect(try Self.error(dict) == .noRNN)
        #expect(RNNLoadError.noRNN.description.contains("weight_ih_l0"))
    }

    @Test func nonsenseNonlinearityInMetadataIsAnError() throws {
        var dict = try Self.valid()
        dict.metadata["nonlinearity"] = "sigmoid"
        #expect(try Self.error(dict) == .badMetadata(key: "nonlinearity", value: "sigmoid"))
        // The caller's choice overrides what the file says, so the file loads when the caller decides.
        #expect(try RNN(stateDict: dict, options: RNNLoadOptions(nonlinearity: .tanh)).configuration.nonlinearity == .tanh)
    }

    @Test func metadataContradictingTheTensorsIsAnError() throws {
        var dict = try Self.valid()
        dict.metadata["num_layers"] = "3"
        #expect(try Self.error(dict) == .metadataConflict(key: "num_layers", value: "3", inferred: "2"))
    }

    @Test func inputOfTheWrongWidthOrDTypeIsRefused() throws {
        let rnn = try RNN(stateDict: Self.valid())
        let width = rnn.configuration.inputSize
        let state = rnn.configuration.outputSize
        // Each is refused with the typed error that names the argument, what it expected and what it found.
        let refusals: [(RNNInputError, () throws -> Void)] = [
            (.wrongShape(name: "input", expected: [nil, nil, width], found: [3, 1, width + 1]),
             { _ = try rnn.forward(try Tensor(zeros: .float32, shape: [3, 1, width + 1])) }),
            (.wrongDType(name: "input", expected: .float32, found: .float64),
             { _ = try rnn.forward(try Tensor(zeros: .float64, shape: [3, 1, width])) }),
            (.wrongShape(name: "h0", expected: [4, state], found: [4, 1, 2]),
             { _ = try rnn.forward(try Tensor(zeros: .float32, shape: [3, width]), h0: try Tensor(zeros: .float32, shape: [4, 1, 2])) }),
            (.wrongShape(name: "input", expected: [nil, nil, width], found: [width]),
             { _ = try rnn.forward(try Tensor(zeros: .float32, shape: [width])) }),
            (.empty(name: "input", shape: [0, 1, width]), { _ = try rnn.forward(try Tensor(zeros: .float32, shape: [0, 1, width])) }),
            (.wrongDType(name: "input", expected: .float32, found: .int32),
             { _ = try rnn.forward(try Tensor(zeros: .int32, shape: [3, 1, width])) }),
            (.threadCount(0), { _ = try rnn.forward(try Tensor(zeros: .float32, shape: [3, 1, width]), threads: 0) }),
        ]
        for (expected, body) in refusals {
            let refusal = try Self.inputError(body)
            #expect(refusal == expected)
            // One line that names the argument.
            #expect(refusal.map { !"\($0)".contains("\n") && "\($0)".contains(expected.argument) } == true, "\(refusal.map { "\($0)" } ?? "")")
        }
    }
}

extension RNNInputError {
    /// The argument the error is about, as its description names it.
    var argument: String {
        switch self {
        case .wrongShape(let name, _, _), .wrongDType(let name, _, _), .empty(let name, _): name
        case .lengthCount, .lengthOutOfRange, .lengthsNeedBatch: "lengths"
        case .noCellState: "c0"
        case .threadCount: "threads"
        case .batchSize: "batch"
        case .bidirectionalStream: "bidirectional"
        }
    }
}

/// A model exported here loads back with nothing to specify and computes the same.
struct ExportTests {
    @Test(arguments: TorchCase.all)
    func exportReloadsWithNoOptionsAndTheSameOutputs(_ fixture: TorchCase) throws {
        let rnn = try RNN(contentsOf: fixture.file("model.npz"), options: fixture.options)
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let before = try fixture.forward(rnn)
        for file in ["model.npz", "model.h5"] {
            let url = folder.file(file)
            try TensorFile.write(rnn.stateDict(), to: url)
            let again = try RNN(contentsOf: url)
            #expect(again.configuration == rnn.configuration)
            #expect(again.prefix == rnn.prefix)
            #expect(again.tensors == rnn.tensors)
            let after = try fixture.forward(again)
            #expect(after.output == before.output && after.hN == before.hN && after.cN == before.cN)
        }
        // tools/check_torch_exports.sh sets this to have PyTorch load what we export.
        if let exportFolder = ProcessInfo.processInfo.environment["RNN_EXPORT_DIR"] {
            let folder = URL(fileURLWithPath: exportFolder).appending(path: fixture.name)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try TensorFile.write(rnn.stateDict(), to: folder.appending(path: "model.npz"))
            try TensorFile.write(rnn.stateDict(), to: folder.appending(path: "model.h5"), options: WriteOptions(nestedGroups: true))
        }
    }

    @Test func exportKeepsPyTorchNamesInOrder() throws {
        let rnn = try RNN(contentsOf: Repository.fixture("torch/prefix_encoder/model.npz"))
        let names = try rnn.stateDict().names
        #expect(names.first == "encoder.rnn.weight_ih_l0")
        #expect(Array(names.prefix(5).map { $0.replacingOccurrences(of: "encoder.rnn.", with: "") }) ==
            ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l0_reverse"])
        #expect(try rnn.stateDict(keepPrefix: false).names.first == "weight_ih_l0")
        #expect(try rnn.stateDict().metadata["prefix"] == "encoder.rnn")
    }
}

/// LSTM and GRU: the mode comes from the shapes, and metadata or inputs that disagree are named errors.
struct ModeTests {
    static func lstm() throws -> StateDict {
        try TensorFile.read(contentsOf: Repository.fixture("torch/lstm_l2_bi_proj_h0c0_f32/model.npz"))
    }

    @Test func modeAndProjectionAreInferredFromShapes() throws {
        let lstm = try RNN(stateDict: Self.lstm())
        #expect(lstm.configuration.mode == .lstm)
        #expect(lstm.configuration.projSize > 0)
        let gru = try RNN(contentsOf: Repository.fixture("torch/gru_l3_bi_h0_f32/model.npz"))
        #expect(gru.configuration.mode == .gru && gru.configuration.numLayers == 3)
        #expect(gru.configuration.description.hasPrefix("GRU("))
    }

    @Test func metadataModeThatDisagreesIsAnError() throws {
        var dict = try Self.lstm()
        dict.metadata["mode"] = "gru"
        #expect(try LoadingTests.error(dict) == .metadataConflict(key: "mode", value: "gru", inferred: "lstm"))
        // The mode's case does not matter: this loads (and any error fails the test).
        dict.metadata["mode"] = "LSTM"
        #expect(try RNN(stateDict: dict).configuration.mode == .lstm)
        dict.metadata["proj_size"] = "0"
        #expect(try LoadingTests.error(dict) == .metadataConflict(key: "proj_size", value: "0", inferred: "3"))
    }

    @Test func missingProjectionOfOneLayerIsNamed() throws {
        var dict = try Self.lstm()
        dict["weight_hr_l1_reverse"] = nil
        #expect(try LoadingTests.error(dict) == .missingTensor(name: "weight_hr_l1_reverse"))
    }

    @Test func gateCountThatIsNoModeIsAWrongShape() throws {
        var dict = try TensorFile.read(contentsOf: Repository.fixture("torch/gru_l1_uni_meta_f32/model.npz"))
        let shape = dict["weight_ih_l0"]!.shape
        let hidden = dict["weight_hh_l0"]!.shape[1]
        dict["weight_ih_l0"] = try Tensor(zeros: .float32, shape: [2 * hidden, shape[1]])
        guard case .wrongShape(name: "weight_ih_l0", expected: _, found: [2 * hidden, shape[1]]) = try LoadingTests.error(dict) else {
            Issue.record("a two-gate weight was accepted")
            return
        }
    }

    @Test func badLengthsAndCellStatesAreRefused() throws {
        let lstm = try RNN(stateDict: Self.lstm())
        let c = lstm.configuration
        let input = try Tensor(zeros: .float32, shape: [5, 3, c.inputSize])
        let expected: [RNNInputError] = [
            .lengthOutOfRange(index: 0, length: 0, steps: 5), .lengthOutOfRange(index: 0, length: 6, steps: 5),
            .lengthCount(found: 2, batch: 3),
        ]
        for (lengths, expected) in zip([[0, 1, 2], [6, 1, 1], [1, 2]], expected) {
            #expect(try LoadingTests.inputError { _ = try lstm.forward(input, lengths: lengths) } == expected)
        }
        let unbatched = try Tensor(zeros: .float32, shape: [5, c.inputSize])
        #expect(try LoadingTests.inputError { _ = try lstm.forward(unbatched, lengths: [5]) } == .lengthsNeedBatch)
        let wrongCell = try Tensor(zeros: .float32, shape: [c.numLayers * 2, 3, c.outputSize])
        #expect(try LoadingTests.inputError { _ = try lstm.forward(input, c0: wrongCell) }
                == .wrongShape(name: "c0", expected: [c.numLayers * 2, 3, c.hiddenSize], found: wrongCell.shape))
        let gru = try RNN(contentsOf: Repository.fixture("torch/gru_l2_bi_f64/model.npz"))
        let cell = try Tensor(zeros: .float64, shape: [4, 1, gru.configuration.hiddenSize])
        let gruCell = try LoadingTests.inputError {
            _ = try gru.forward(try Tensor(zeros: .float64, shape: [2, 1, gru.configuration.inputSize]), c0: cell)
        }
        #expect(gruCell == .noCellState && gruCell?.description.contains("only an LSTM") == true)
    }

    @Test func lengthsEqualToTheFullSequenceChangeNothing() throws {
        let fixture = TorchCase.all.first { $0.name == "lstm_l2_bi_h0c0_f32" }!
        let rnn = try RNN(contentsOf: fixture.file("model.npz"))
        let inputs = try TensorFile.read(contentsOf: fixture.file("inputs.npz"))
        let input = inputs["input"]!
        let full = [Int](repeating: input.shape[0], count: input.shape[1])
        let plain = try rnn.forward(input, h0: inputs["h0"], c0: inputs["c0"])
        let packed = try rnn.forward(input, h0: inputs["h0"], c0: inputs["c0"], lengths: full)
        #expect(plain.output == packed.output && plain.hN == packed.hN && plain.cN == packed.cN)
    }
}

/// Models from the other formats users have: torch.save checkpoints and safetensors.
struct OtherFormatTests {
    @Test func lstmLoadsFromANestedTorchCheckpoint() throws {
        let rnn = try RNN(contentsOf: Repository.fixture("checkpoints/nested.pt"), options: RNNLoadOptions(prefix: "model.rnn"))
        #expect(rnn.configuration.mode == .lstm && rnn.prefix == "model.rnn")
        // Without a prefix the only recurrent module is found by itself.
        #expect(try RNN(contentsOf: Repository.fixture("checkpoints/nested.pt")).prefix == "model.rnn")
    }

    @Test(arguments: ["state_dict.pt", "half.pt", "bf16.pt", "float64.pt"])
    func plainTorchStateDictsLoad(_ name: String) throws {
        let rnn = try RNN(contentsOf: Repository.fixture("checkpoints/" + name))
        #expect(rnn.tensors.count >= 2)
    }

    /// rnn_relu.safetensors is the l2_bi_relu_f32 model written by the safetensors package
    /// (tools/make_safetensors_fixtures.py): loaded from it, the RNN reproduces torch's outputs of that case, within
    /// the tolerances of `TorchParityTests`.
    @Test func safetensorsModelMatchesTorch() throws {
        let fixture = try #require(TorchCase.all.first { $0.name == "l2_bi_relu_f32" })
        let fromSafetensors = try RNN(contentsOf: Repository.fixture("safetensors/rnn_relu.safetensors"))
        #expect(try fromSafetensors.configuration == RNN(contentsOf: fixture.file("model.npz")).configuration)
        try fixture.expectMatchesTorch(try fixture.forward(fromSafetensors), precision: fromSafetensors.precision)
    }
}
