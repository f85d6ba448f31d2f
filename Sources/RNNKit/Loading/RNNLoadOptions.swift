/// Choices the caller makes when loading an RNN; anything left nil comes from the file or PyTorch's defaults.
public struct RNNLoadOptions: Sendable, Equatable {
    /// The module's prefix (`encoder.rnn`), needed when a file holds several RNNs.
    public var prefix: String?
    /// The activation; overrides the file's metadata. PyTorch's default (tanh) when neither says.
    public var nonlinearity: Nonlinearity?
    /// Whether inputs and outputs are batch-first; overrides the file's metadata.
    public var batchFirst: Bool?
    /// The compute precision; by default float64 for float64 weights and float32 for every other dtype.
    public var precision: Precision?
    /// GRU only (ignored for other modes): false for the reset-before GRU (see `RNNConfiguration.resetAfter`);
    /// overrides the file's metadata (`reset_after`). PyTorch's GRU (true) when neither says.
    public var resetAfter: Bool?

    /// Options with every choice left to the file.
    public init(prefix: String? = nil, nonlinearity: Nonlinearity? = nil, batchFirst: Bool? = nil, precision: Precision? = nil,
                resetAfter: Bool? = nil) {
        self.resetAfter = resetAfter
        self.prefix = prefix
        self.nonlinearity = nonlinearity
        self.batchFirst = batchFirst
        self.precision = precision
    }
}
