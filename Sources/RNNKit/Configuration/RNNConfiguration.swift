/// The shape of a `torch.nn.RNN`, `torch.nn.LSTM` or `torch.nn.GRU`: what its constructor was given.
///
/// Inferred from a state_dict's tensor names and shapes (the mode from how many gates `weight_ih_l0` stacks),
/// except `nonlinearity` (weights cannot tell tanh from relu), `batchFirst` (a layout of the inputs) and
/// `dropout` (a training feature: recorded, never applied), which come from metadata or the caller.
public struct RNNConfiguration: Sendable, Equatable, CustomStringConvertible {
    /// Which recurrent module: Elman RNN, LSTM or GRU.
    public var mode: RecurrentMode
    /// LSTM only: the size of the projected hidden state (`proj_size`), 0 for none.
    public var projSize: Int
    /// Features of each input step.
    public var inputSize: Int
    /// Features of the hidden state.
    public var hiddenSize: Int
    /// Stacked layers (≥ 1).
    public var numLayers: Int
    /// True when each layer also runs backward over the sequence (`_reverse` tensors).
    public var bidirectional: Bool
    /// False when the module was built with `bias=False` (no bias tensors at all).
    public var bias: Bool
    /// The activation: tanh (PyTorch's default) or relu.
    public var nonlinearity: Nonlinearity
    /// Inputs and outputs are [batch, time, features] instead of [time, batch, features].
    public var batchFirst: Bool
    /// Dropout between layers during training; recorded for export, not applied.
    public var dropout: Double
    /// GRU only: true (the default) for PyTorch's GRU, whose reset gate scales the recurrent product
    /// (n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)): Keras's `reset_after=True`, ONNX's `linear_before_reset=1`);
    /// false for the GRU that applies the reset gate before it (n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn):
    /// Keras's `reset_after=False`, Keras 2's original GRU, ONNX's default `linear_before_reset=0`). PyTorch has
    /// no such GRU: a model with `resetAfter == false` cannot be written under PyTorch's names.
    public var resetAfter: Bool
    /// A one-direction model that reads each sequence from its last step to its first, writing each step's output
    /// at that step's position (ONNX's `direction="reverse"`: the backward half of a bidirectional layer on its
    /// own). No PyTorch module does this; such a model is written as ONNX only. Never with `bidirectional`.
    public var reverse = false

    /// A configuration with PyTorch's defaults for everything not given.
    public init(mode: RecurrentMode = .rnn, inputSize: Int, hiddenSize: Int, numLayers: Int = 1, bidirectional: Bool = false,
                bias: Bool = true, nonlinearity: Nonlinearity = .tanh, batchFirst: Bool = false, dropout: Double = 0,
                projSize: Int = 0, resetAfter: Bool = true) {
        self.mode = mode
        self.resetAfter = resetAfter
        self.projSize = projSize
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.numLayers = numLayers
        self.bidirectional = bidirectional
        self.bias = bias
        self.nonlinearity = nonlinearity
        self.batchFirst = batchFirst
        self.dropout = dropout
    }

    /// 2 when bidirectional, else 1.
    public var directions: Int { bidirectional ? 2 : 1 }

    /// True for the GRU that applies its reset gate before the recurrent product (see `resetAfter`).
    public var isResetBeforeGRU: Bool { mode == .gru && !resetAfter }

    /// The width of each step's state: `projSize` for a projected LSTM, else `hiddenSize`.
    public var outputSize: Int { projSize > 0 ? projSize : hiddenSize }

    /// The input width of `layer`: `inputSize` for the first, `outputSize × directions` after it.
    public func layerInputSize(_ layer: Int) -> Int { layer == 0 ? inputSize : outputSize * directions }

    /// PyTorch's constructor call for this configuration, e.g. `LSTM(3, 4, num_layers=2, …)`.
    public var description: String {
        let flag = { (value: Bool) in value ? "True" : "False" }
        var text = "\(mode.torchName)(\(inputSize), \(hiddenSize), num_layers=\(numLayers)"
        if mode == .rnn { text += ", nonlinearity='\(nonlinearity)'" }
        text += ", bias=\(flag(bias)), batch_first=\(flag(batchFirst)), bidirectional=\(flag(bidirectional))"
        if projSize > 0 { text += ", proj_size=\(projSize)" }
        if isResetBeforeGRU { text += ", reset_after=False" }
        if reverse { text += ", reverse=True" }
        return text + ")"
    }
}

/// The recurrent modules PyTorch has, told apart by how many gates their weights stack.
public enum RecurrentMode: String, Sendable, CaseIterable, CustomStringConvertible {
    /// `torch.nn.RNN`: one gate.
    case rnn
    /// `torch.nn.LSTM`: input, forget, cell and output gates, in that order.
    case lstm
    /// `torch.nn.GRU`: reset, update and new gates, in that order.
    case gru

    /// Rows of `weight_ih` per hidden unit.
    public var gateCount: Int {
        switch self {
        case .rnn: 1
        case .lstm: 4
        case .gru: 3
        }
    }

    /// The mode whose weights stack `gates` gates, if any.
    public init?(gateCount gates: Int) {
        guard let mode = Self.allCases.first(where: { $0.gateCount == gates }) else { return nil }
        self = mode
    }

    /// The PyTorch class name.
    public var torchName: String { self == .rnn ? "RNN" : rawValue.uppercased() }

    public var description: String { rawValue }
}

/// The activation of an Elman RNN.
public enum Nonlinearity: String, Sendable, CaseIterable, CustomStringConvertible {
    case tanh, relu
    public var description: String { rawValue }
}

/// The floating-point type the forward pass computes in.
public enum Precision: String, Sendable, CaseIterable {
    /// 32-bit: the choice for float16, bfloat16 and float32 weights.
    case float32
    /// 64-bit: the choice for float64 weights.
    case float64

    /// The dtype of tensors computed in this precision.
    public var dtype: DType { self == .float32 ? .float32 : .float64 }
}
