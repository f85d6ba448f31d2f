import Foundation
import Testing
import TestSupport
@testable import RNNKit

/// TorchScript archives (`torch.jit.save` of scripted and traced modules, tools/onnx_fixtures.py) read without
/// running or reading their code: the parameters come out as `module.state_dict()` names them, and the RNN module
/// among them computes what torch computed.
struct TorchScriptTests {
    typealias Case = TorchScriptFixture

    @Test func theArchivesCoverScriptTraceCellsAndRootNames() {
        #expect(Set(Case.all.map(\.how)) == ["script", "trace"])
        #expect(Set(Case.all.map(\.mode)).isSuperset(of: ["rnn", "lstm", "gru"]))
        #expect(Case.all.contains { $0.prefix.contains(".") })
    }

    /// Every parameter and buffer, named as the saved module's state_dict names it, bit for bit; nothing else.
    @Test(arguments: Case.all)
    func archiveGivesTheModulesStateDict(_ fixture: Case) throws {
        let dict = try TensorFile.read(contentsOf: fixture.file("model.pt"))
        let expected = try TensorFile.read(contentsOf: fixture.file("state_dict.npz"))
        #expect(dict.names == expected.names, "\(fixture.name)")
        for name in expected.names {
            #expect(dict[name] == expected[name], "\(fixture.name): \(name)")
        }
        #expect(dict.metadata["torchscript"] != nil)
    }

    /// The RNN module of each archive computes what torch computed on the fixture's inputs.
    @Test(arguments: Case.all)
    func archivesRNNGivesTorchsOutputs(_ fixture: Case) throws {
        let rnn = try RNN(contentsOf: fixture.file("model.pt"), options: fixture.options)
        #expect(rnn.configuration.mode.rawValue == fixture.mode)
        let inputs = try TensorFile.read(contentsOf: fixture.file("inputs.npz"))
        let expected = try TensorFile.read(contentsOf: fixture.file("expected.npz"))
        let result = try rnn.forward(inputs["input"]!, h0: inputs["h0"], c0: inputs["c0"])
        let tolerance = Tolerance.default(for: rnn.precision)
        var pairs = [("output", result.output), ("h_n", result.hN)]
        if let cN = result.cN { pairs.append(("c_n", cN)) }
        for (name, actual) in pairs {
            guard let reference = expected[name] else { continue }
            let comparison = try TensorComparison(actual: actual, expected: reference, atol: tolerance.atol, rtol: tolerance.rtol)
            #expect(comparison.matches, "\(fixture.name) \(name): max abs \(comparison.maxAbsoluteError)")
        }
        #expect(expected["h_n"] != nil)
    }
}

extension TorchScriptFixture {
    /// What the user says: a scripted module keeps batch_first and nonlinearity in its code, which is not read.
    var options: RNNLoadOptions {
        RNNLoadOptions(prefix: prefix.isEmpty ? nil : prefix,
                       nonlinearity: nonlinearity.flatMap(Nonlinearity.init(rawValue:)), batchFirst: batchFirst)
    }
}
