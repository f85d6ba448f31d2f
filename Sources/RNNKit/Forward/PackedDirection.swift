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
    /// A reset-before GRU's weights as its steps take them (`ForwardPass.recurResetBefore`); nil otherwise.
    let resetBefore: ResetBeforeWeights<Scalar>?

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
        if c.isResetBeforeGRU {
            // Rows [r; z] of weight_hh as one gate of 2·H units, rows n as another: two products per step.
            let split = 2 * hidden * c.outputSize
            resetBefore = ResetBeforeWeights(
                gates: Self.packed(Array(recurrentWeights[..<split]), gates: 1, units: 2 * hidden, columns: c.outputSize),
                candidate: Self.packed(Array(recurrentWeights[split...]), gates: 1, units: hidden, columns: c.outputSize),
                inputBias: AlignedBuffer(inputBiasValues ?? [Scalar](repeating: 0, count: 3 * hidden)),
                recurrentBias: AlignedBuffer(recurrentBiasValues ?? [Scalar](repeating: 0, count: 3 * hidden)))
        } else {
            resetBefore = nil
        }
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

/// A reset-before GRU's recurrent weights: rows r and z of `weight_hh` packed as one gate of 2·H units, rows n as
/// one of H units (each for rk_project), and the biases unpacked, [r, z, n] × H each.
struct ResetBeforeWeights<Scalar: ForwardScalar>: Sendable {
    let gates: AlignedBuffer<Scalar>
    let candidate: AlignedBuffer<Scalar>
    let inputBias: AlignedBuffer<Scalar>
    let recurrentBias: AlignedBuffer<Scalar>
}
