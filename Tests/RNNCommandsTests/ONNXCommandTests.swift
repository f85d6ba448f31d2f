import Foundation
import Testing
import TestSupport
import TensorIO

/// The commands on ONNX models and TorchScript archives, as users run them: rnn-verify proves each fixture,
/// rnn-convert gives back the state_dict, rnn-inspect shows the graph.
struct ONNXCommandTests {
    typealias Case = ONNXFixture

    /// What a TorchScript archive's code holds and the user says, as options.
    static func options(_ fixture: TorchScriptFixture) -> [String] {
        (fixture.prefix.isEmpty ? [] : ["--prefix", fixture.prefix]) + (fixture.batchFirst ? ["--batch-first"] : [])
            + (fixture.nonlinearity.map { ["--nonlinearity", $0] } ?? [])
    }

    @Test(arguments: Case.verifying)
    func verifyProvesEachModel(_ fixture: Case) throws {
        let prefix = fixture.prefix.isEmpty ? [] : ["--prefix", fixture.prefix]
        let result = try run("rnn-verify", [fixture.file("model.onnx").path, fixture.file("inputs.npz").path, fixture.file("expected.npz").path] + prefix)
        #expect(result.status == 0 && result.output.contains("VERIFIED"), "\(fixture.name): \(result.output) \(result.error)")
    }

    @Test(arguments: Case.refused)
    func convertRefusesWithTheReason(_ fixture: Case) throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let result = try run("rnn-convert", [fixture.file("model.onnx").path, "-o", folder.file("out.npz").path])
        #expect(try folder.contents().isEmpty)
        let refusal = try #require(fixture.refusal)
        #expect(result.status != 0 && result.error.contains(refusal), "\(fixture.name): \(result.error)")
        #expect(result.error.split(separator: "\n").count == 1, "\(result.error)")
    }

    /// `rnn-convert model.onnx -o out.npz` writes the module's PyTorch tensors (those under its prefix), exactly
    /// as the fixture's state_dict holds them.
    @Test(arguments: Case.verifying.filter { !$0.hasNoPyTorchEquivalent })
    func convertGivesBackTheStateDict(_ fixture: Case) throws {
        let prefix = fixture.prefix.isEmpty ? [] : ["--prefix", fixture.prefix]
        try expectConversion(fixture.file("model.onnx"), prefix, gives: fixture.file("state_dict.npz"), under: fixture.prefix)
    }

    /// A reverse model or a reset-before GRU has no PyTorch module: converting it to PyTorch's names is refused
    /// in one line that says why, leaving no file, and converting it to ONNX keeps what it computes.
    @Test(arguments: Case.verifying.filter(\.hasNoPyTorchEquivalent))
    func convertRefusesPyTorchNamesForWhatPyTorchCannotCompute(_ fixture: Case) throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let refused = try run("rnn-convert", [fixture.file("model.onnx").path, "-o", folder.file("out.npz").path])
        #expect(refused.status == 2 && refused.error.contains("write it as") && refused.error.split(separator: "\n").count == 1,
                "\(fixture.name): \(refused.error)")
        #expect(try folder.contents().isEmpty)
        let onnx = folder.file("again.onnx")
        let converted = try run("rnn-convert", [fixture.file("model.onnx").path, "-o", onnx.path])
        #expect(converted.status == 0, "\(converted.error)")
        let verified = try run("rnn-verify", [onnx.path, fixture.file("inputs.npz").path, fixture.file("expected.npz").path])
        #expect(verified.status == 0 && verified.output.contains("VERIFIED"), "\(fixture.name): \(verified.output) \(verified.error)")
    }

    /// The same for TorchScript archives, with what their code holds and the archive does not (`batch_first`,
    /// `nonlinearity`) given as options; and rnn-verify proves each archive's RNN module.
    @Test(arguments: TorchScriptFixture.all)
    func torchScriptArchiveVerifiesAndConverts(_ fixture: TorchScriptFixture) throws {
        let result = try run("rnn-verify", [fixture.file("model.pt").path, fixture.file("inputs.npz").path, fixture.file("expected.npz").path] + Self.options(fixture))
        #expect(result.status == 0 && result.output.contains("VERIFIED"), "\(fixture.name): \(result.output) \(result.error)")
        try expectConversion(fixture.file("model.pt"), Self.options(fixture), gives: fixture.file("state_dict.npz"), under: fixture.prefix)
    }

    /// Without `--batch-first`, a batch-first scripted module's inspection says what was assumed.
    @Test func inspectSaysWhatATorchScriptArchiveLeavesToTheUser() throws {
        let fixture = try #require(TorchScriptFixture.all.first { $0.batchFirst })
        let result = try run("rnn-inspect", [fixture.file("model.pt").path])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("assumed: batch_first=False"), "\(result.output)")
    }

    /// Converts `model` with `options` to NPZ and checks the result holds `stateDict`'s tensors under `prefix`.
    func expectConversion(_ model: URL, _ options: [String], gives stateDict: URL, under prefix: String) throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let out = folder.file("out.npz")
        let result = try run("rnn-convert", [model.path, "-o", out.path] + options)
        #expect(result.status == 0, "\(model): \(result.error)")
        let converted = try TensorFile.read(contentsOf: out)
        let expected = try TensorFile.read(contentsOf: stateDict)
        let names = expected.names.filter { prefix.isEmpty || $0.hasPrefix(prefix + ".") }
        #expect(converted.names == names, "\(model)")
        for name in names { #expect(converted[name] == expected[name], "\(model): \(name)") }
    }

    @Test func inspectListsTheGraphAndItsRecurrentNodes() throws {
        let fixture = try #require(Case.all.first { $0.name == "helper_if_branches" })
        let result = try run("rnn-inspect", [fixture.file("model.onnx").path])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("ONNX graph: producer"))
        #expect(result.output.contains("recurrent nodes: 2"))
        #expect(result.output.contains("select_rate/then_branch/lstm_16k: LSTM"))
        #expect(result.output.contains("select_rate.else_branch"))

        let json = try run("rnn-inspect", [fixture.file("model.onnx").path, "--json"])
        #expect(json.status == 0, "\(json.error)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        let graph = try #require(object["onnx_graph"] as? [String: Any], "\(json.output)")
        #expect(graph["opset"] as? Int == 17)
        #expect((graph["inputs"] as? [[String: Any]])?.map { $0["name"] as? String } == ["X", "cond"], "\(graph)")
        let nodes = try #require(graph["recurrent_nodes"] as? [String])
        #expect(nodes.count == 2 && nodes.contains { $0.contains("select_rate/then_branch/lstm_16k: LSTM") }, "\(nodes)")
        #expect((object["rnn_modules"] as? [Any])?.count == 2)
    }
}
