import Foundation
import Testing
@testable import RNNKit

/// Every case PyTorch computed (tools/make_torch_fixtures.py: RNN, LSTM with and without proj_size, GRU, packed
/// variable-length batches) is reproduced through the library, from NPZ and HDF5.
///
/// Tolerances are `Tolerance.default`: float64 within 1e-12 relative (+1e-14 absolute for values near 0);
/// float32 within 1e-5 relative + 1e-6 absolute. Why those figures: see `Tolerance`.
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
}
