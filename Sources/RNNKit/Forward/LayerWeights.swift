/// The weights of one direction of one layer, widened to the compute type, row-major as PyTorch stores them.
struct DirectionWeights<Scalar: RNNScalar>: Sendable {
    /// [G·hidden, input] row-major, G gates stacked in PyTorch's order.
    var inputWeights: [Scalar]
    /// [G·hidden, state] row-major (state = proj for a projected LSTM, else hidden).
    var hiddenWeights: [Scalar]
    /// [G·hidden], zeros without bias.
    var inputBias: [Scalar]
    /// [G·hidden], zeros without bias.
    var hiddenBias: [Scalar]
    /// LSTM with projections only: [proj, hidden] row-major (`weight_hr`).
    var projectionWeights: [Scalar]?
}
