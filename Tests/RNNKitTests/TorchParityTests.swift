import Foundation
import Testing
import TestSupport
@testable import RNNKit

/// Every case PyTorch computed (tools/make_torch_fixtures.py: RNN, LSTM with and without proj_size, GRU, packed
/// variable-length batches) is reproduced through the library, from NPZ and HDF5.
///
/// Tolerances are `Tolerance.default`: float64 within 1e-12 relative (+1e-14 absolute for values near 0);
/// float32 within 1e-5 absolute + 1.3e-6 relative, torch.testing.assert_close's. Why those figures: see `Tolerance`.
struct TorchParityTests {
    @Test(arguments: TorchCase.all, ["model.npz", "model.h5"])
    func forwardMatchesTorch(_ fixture: TorchCase, _ modelFile: String) throws {
        let rnn = try RNN(contentsOf: fixture.file(modelFile), options: fixture.options)
        #expect(rnn.configuration.inputSize == fixture.inputSize)
        #expect(rnn.configuration.hiddenSize == fixture.hiddenSize)
        #expect(rnn.configuration.numLayers == fixture.numLayers)
        #expect(rnn.configuration.bidirectional == fixture.bidirectional)
        #expect(rnn.configuration.bias == fixture.bias)
        #expect(rnn.configuration.mode.rawValue == fixture.mode)
        #expect(rnn.configuration.projSize == fixture.projSize)
        if let nonlinearity = fixture.nonlinearity { #expect(rnn.configuration.nonlinearity.rawValue == nonlinearity) }
        #expect(rnn.precision.dtype.rawValue == fixture.dtype)

        let inputs = try TensorFile.read(contentsOf: fixture.file("inputs.npz"))
        #expect((inputs["h0"] != nil) == fixture.hasH0)
        #expect((inputs["c0"] != nil) == fixture.hasC0)
        #expect((inputs["lengths"] != nil) == fixture.hasLengths)
        try fixture.expectMatchesTorch(try fixture.forward(rnn), precision: rnn.precision)
    }

    /// The parity tests above, the export tests and the ONNX tests run once per entry of Fixtures/torch/cases.json:
    /// without this count, a cases.json emptied or cut short would make them skip and `swift test` still pass.
    @Test func everyTorchFixtureIsACase() throws {
        // 59 cases today (tools/make_torch_fixtures.py); update the count when cases are added or removed.
        #expect(TorchCase.all.count == 59)
        let folders = try FileManager.default.contentsOfDirectory(atPath: Repository.fixture("torch").path)
            .filter { $0 != "cases.json" }
        #expect(TorchCase.all.map(\.name).sorted() == folders.sorted())
    }
}
