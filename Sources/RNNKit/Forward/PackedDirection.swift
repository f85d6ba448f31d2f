/// The weights of one direction of one layer, prepared once at load in the layouts the forward pass reads.
struct PackedDirection<Scalar: ForwardScalar>: Sendable {
    /// `weight_ih` packed as one gate of G·H units, [blocks(G·H)][I][1][block], for the input projection.
    let inputPacked: AlignedBuffer<Scalar>
    /// `weight_hh` packed for the kernels: [blocks(H)][S][G][block] (recurrent_kernels.h).
    let recurrent: AlignedBuffer<Scalar>
    /// `bias_hh` packed [blocks(H)][G][block]; zeros without bias.
    let recurrentBias: AlignedBuffer<Scalar>
    /// `bias_ih` packed [blocks(H)][G][block]; zeros without bias.
    let inputBias: AlignedBuffer<Scalar>
    /// `weight_hr` (LSTM with proj_size) packed [blocks(P)][H][1][block].
    let projection: AlignedBuffer<Scalar>?

    /// Packs PyTorch's tensors of one direction: `weight_ih` [G·H, I], `weight_hh` [G·H, S], the biases [G·H] (nil
    /// without bias) and `weight_hr` [P, H].
    init(inputWeights: [Scalar], recurrentWeights: [Scalar], inputBias inputBiasValues: [Scalar]?,
         recurrentBias recurrentBiasValues: [Scalar]?, projectionWeights: [Scalar]?, configuration c: RNNConfiguration) {
        let gates = c.mode.gateCount, hidden = c.hiddenSize
        inputPacked = Self.packed(inputWeights, gates: 1, units: gates * hidden, columns: inputWeights.count / (gates * hidden))
        recurrent = Self.packed(recurrentWeights, gates: gates, units: hidden, columns: c.outputSize)
        recurrentBias = Self.packed(recurrentBiasValues, gates: gates, units: hidden, columns: 1)
        inputBias = Self.packed(inputBiasValues, gates: gates, units: hidden, columns: 1)
        projection = projectionWeights.map { Self.packed($0, gates: 1, units: c.projSize, columns: hidden) }
    }

    private static func packed(_ values: [Scalar]?, gates: Int, units: Int, columns: Int) -> AlignedBuffer<Scalar> {
        let buffer = AlignedBuffer<Scalar>(count: Scalar.packedCount(gates: gates, units: units, columns: columns), zeroed: false)
        if let values {
            values.withUnsafeBufferPointer { Scalar.pack($0.baseAddress, gates: gates, units: units, columns: columns, into: buffer.pointer) }
        } else {
            Scalar.pack(nil, gates: gates, units: units, columns: columns, into: buffer.pointer)
        }
        return buffer
    }
}
