/// The shape of a `torch.nn.RNN`: what its constructor was given.
///
/// Inferred from a state_dict's tensor names and shapes, except `nonlinearity` (weights cannot tell tanh from
/// relu), `batchFirst` (a layout of the inputs) and `dropout` (a training feature: recorded, never applied),
/// which come from metadata or the caller.
public struct RNNConfiguration: Sendable, Equatable, CustomStringConvertible {
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

    /// A configuration with PyTorch's defaults for everything not given.
    public init(inputSize: Int, hiddenSize: Int, numLayers: Int = 1, bidirectional: Bool = false, bias: Bool = true,
                nonlinearity: Nonlinearity = .tanh, batchFirst: Bool = false, dropout: Double = 0) {
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

    /// The input width of `layer`: `inputSize` for the first, `hiddenSize × directions` after it.
    public func layerInputSize(_ layer: Int) -> Int { layer == 0 ? inputSize : hiddenSize * directions }

    public var description: String {
        "RNN(\(inputSize), \(hiddenSize), num_layers=\(numLayers), nonlinearity='\(nonlinearity)', bias=\(bias ? "True" : "False"), batch_first=\(batchFirst ? "True" : "False"), bidirectional=\(bidirectional ? "True" : "False"))"
    }
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
