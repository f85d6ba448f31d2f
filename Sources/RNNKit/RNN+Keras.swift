import Foundation

extension RNN {
    /// Writes the model as a Keras 3 `.keras` file that `keras.models.load_model` opens with no custom code:
    /// a `Sequential` of an input `[batch, time, features]` (any length) and one layer per PyTorch layer
    /// (`SimpleRNN`, `LSTM` or `GRU` with `return_sequences=True`, in `Bidirectional(merge_mode="concat")` for
    /// two directions), so that `model(x)` is `output` in batch-first layout.
    ///
    /// The mapping is `KerasMapping`'s, the inverse of reading: kernels transposed, GRU gates reordered, and where
    /// Keras has one bias row (LSTM, SimpleRNN, the reset-before GRU) `bias_ih + bias_hh`. Weights are written in
    /// float32 (float64 models in float64). Throws `RNNExportError.notKeras` for what Keras cannot hold: an LSTM's
    /// projection (`proj_size`).
    public func writeKeras(to url: URL, replaceExisting: Bool = true) throws {
        let (layers, dtype) = try kerasLayers()
        try KerasWriter.writeArchive(layers, inputSize: configuration.inputSize, dtype: dtype.rawValue, to: url,
                                     replaceExisting: replaceExisting)
    }

    /// Writes the weights as the `.weights.h5` that `model.load_weights` takes, for a model built in Keras as
    /// `writeKeras` builds it: `keras.Input((None, input_size))`, then per layer `LSTM(hidden_size,
    /// return_sequences=True)` (or `GRU(…, reset_after=…)`, `SimpleRNN(…, activation=…)`, `use_bias=False` without
    /// bias), each in `Bidirectional(…)` for two directions. Keras finds each layer's weights by its class and
    /// position (`/layers/lstm`, `/layers/lstm_1`, …), not by its name.
    public func writeKerasWeights(to url: URL, replaceExisting: Bool = true) throws {
        try KerasWriter.writeWeights(try kerasLayers().layers, to: url, replaceExisting: replaceExisting)
    }

    /// The layers in Keras's layout, and the dtype they are written in.
    func kerasLayers() throws -> (layers: [KerasWriter.Layer], dtype: DType) {
        let c = configuration
        guard c.projSize == 0 else {
            throw RNNExportError.notKeras(detail: "Keras's LSTM has no projection: an LSTM with proj_size=\(c.projSize) cannot be written for Keras")
        }
        guard !c.reverse else {
            // go_backwards also reads backwards, but returns its outputs in reversed order: another model.
            throw RNNExportError.notKeras(detail: "the model reads its sequences backwards (ONNX direction=\"reverse\") and keeps each output at its step; Keras's go_backwards returns them reversed, another model: write it as .onnx")
        }
        let dtype: DType = self.dtype == .float64 ? .float64 : .float32
        let gates = c.mode.gateCount
        let className = switch c.mode {
        case .rnn: "SimpleRNN"
        case .lstm: "LSTM"
        case .gru: "GRU"
        }
        // A GRU keeps both biases (two rows) as PyTorch's GRU does; the others take their sum.
        let twoRows = c.mode == .gru && c.resetAfter
        var layers: [KerasWriter.Layer] = []
        for layer in 0..<c.numLayers {
            var cells: [(kernel: Tensor, recurrent: Tensor, bias: Tensor?)] = []
            for direction in 0..<c.directions {
                let suffix = isCell ? "" : "_l\(layer)" + (direction == 1 ? "_reverse" : "")
                let tensor = { (kind: String) in try self.tensors[kind + suffix].map { try $0.converted(to: dtype) } }
                guard let input = try tensor("weight_ih"), let recurrent = try tensor("weight_hh") else { continue }
                var bias: Tensor?
                if c.bias, let ih = try tensor("bias_ih"), let hh = try tensor("bias_hh") {
                    bias = try KerasMapping.kerasBias(ih: ih, hh: hh, gates: gates, twoRows: twoRows)
                }
                cells.append((try KerasMapping.transposed(input, gates: gates, rowsAreGates: true),
                              try KerasMapping.transposed(recurrent, gates: gates, rowsAreGates: true), bias))
            }
            layers.append(KerasWriter.Layer(className: className, units: c.hiddenSize, activation: c.mode == .rnn ? c.nonlinearity.rawValue : "tanh",
                                            useBias: c.bias, resetAfter: c.resetAfter, cells: cells))
        }
        return (layers, dtype)
    }
}
