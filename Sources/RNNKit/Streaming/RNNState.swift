/// A model's recurrent state between calls: what PyTorch passes as `h0` (and `c0` for an LSTM) and returns as
/// `h_n` (and `c_n`).
///
/// ```swift
/// var state = rnn.zeroState(batch: 1)
/// for chunk in chunks {
///     let result = try rnn.forward(chunk, state: state)
///     state = result.state
/// }
/// ```
public struct RNNState: Sendable, Equatable {
    /// [L·D, B, S]: each layer's hidden state (S = proj_size or hidden), layer by layer, forward before backward.
    public var h: Tensor
    /// LSTM only: [L·D, B, H], the cell states; nil for RNN and GRU.
    public var c: Tensor?

    /// A state of these tensors; `forward` and `RNNStream.setState` check their shapes against the model.
    public init(h: Tensor, c: Tensor? = nil) {
        self.h = h
        self.c = c
    }
}

extension RNN {
    /// The zero state for `batch` sequences in the compute precision: what PyTorch uses when no `h0` is given.
    /// A batch below 1 gives an empty state, which `forward` and streams refuse by its shape.
    public func zeroState(batch: Int) -> RNNState {
        let c = configuration, states = c.numLayers * c.directions, batch = max(batch, 0)
        // Zero-filled tensors of a valid shape cannot fail to be made.
        let h = try! Tensor(zeros: precision.dtype, shape: [states, batch, c.outputSize])
        let cell = c.mode == .lstm ? try! Tensor(zeros: precision.dtype, shape: [states, batch, c.hiddenSize]) : nil
        return RNNState(h: h, c: cell)
    }
}
