/// The weights of one direction of one layer, widened to the compute type, row-major as PyTorch stores them.
struct DirectionWeights<Scalar: RNNScalar>: Sendable {
    /// [hidden, input] row-major.
    var inputWeights: [Scalar]
    /// [hidden, hidden] row-major.
    var hiddenWeights: [Scalar]
    /// [hidden], zeros without bias.
    var inputBias: [Scalar]
    /// [hidden], zeros without bias.
    var hiddenBias: [Scalar]
}
