import CRecurrentKernels

/// The buffers and schedules a forward pass works in, made once for a plan: per call for `RNN.forward`, once for
/// the life of a stream (so that a stream's steps allocate nothing).
final class ForwardWorkspace<Scalar: ForwardScalar> {
    /// Input projections: one per direction, or (pipeline) two per layer for alternate chunks. Each is padded with
    /// a block of zeros past its last row, which the kernels may read.
    let projections: [AlignedBuffer<Scalar>]
    /// Outputs of the layers below the last (see `ForwardPlan.betweenBuffers`).
    let between: [AlignedBuffer<Scalar>]
    /// State buffers, one set per layer and direction (index layer · D + direction).
    let lanes: [LaneStates<Scalar>]
    /// rk_schedule per layer and direction (directions), per layer (shared steps), or one (pipeline); empty alone.
    let schedules: [OpaquePointer]
    /// rk_barrier between the layers of the directions strategy.
    let barrier: OpaquePointer?
    /// The phase after a sequence's steps and chunk projections in each schedule: marked by a direction's threads
    /// once it is done (directions).
    let completionPhase: Int32
    /// Threads in direction d's group (directions strategy): the even threads run the forward direction, the odd
    /// ones the backward.
    let groupSizes: (Int, Int)

    /// Buffers for `plan`; `zeroedOutputs` when outputs past a sequence's length must read as zeros. Nil when the
    /// schedules cannot be allocated.
    init?(plan: ForwardPlan, configuration c: RNNConfiguration, zeroedOutputs: Bool) {
        let block = Scalar.packBlock, gateWidth = c.mode.gateCount * c.hiddenSize
        let padded = (c.hiddenSize + block - 1) / block * block
        let batch = plan.batch, state = c.outputSize
        let projectionRows = plan.chunkSteps * batch
        projections = (0..<plan.projectionBuffers).map { _ in
            let buffer = AlignedBuffer<Scalar>(count: projectionRows * gateWidth + block, zeroed: false, recycled: true)
            (buffer.pointer + projectionRows * gateWidth).initialize(repeating: 0, count: block)
            return buffer
        }
        between = (0..<plan.betweenBuffers).map { _ in
            AlignedBuffer<Scalar>(count: plan.rows * c.directions * state, zeroed: zeroedOutputs, recycled: true)
        }
        lanes = (0..<c.numLayers * c.directions).map { _ in
            LaneStates(a: AlignedBuffer(count: batch * state + block), b: AlignedBuffer(count: batch * state + block),
                       full: c.projSize > 0 ? AlignedBuffer(count: batch * padded) : nil,
                       cell: c.mode == .lstm ? AlignedBuffer(count: batch * padded) : nil,
                       resetBefore: c.isResetBeforeGRU ? ResetBeforeScratch(batch: batch, hidden: c.hiddenSize) : nil)
        }
        let completionPhase = Int32(2 * plan.steps + plan.chunkCount)
        self.completionPhase = completionPhase
        var schedules: [OpaquePointer?] = []
        var barrier: OpaquePointer?
        switch plan.strategy {
        case .alone:
            groupSizes = (1, 0)
        case .directions(let helping):
            groupSizes = ((plan.threads + 1) / 2, plan.threads / 2)
            barrier = rk_barrier_create(Int32(plan.threads))
            if helping {
                for _ in 0..<c.numLayers {
                    schedules.append(rk_schedule_create(completionPhase + 1, Int32(groupSizes.0)))
                    schedules.append(rk_schedule_create(completionPhase + 1, Int32(groupSizes.1)))
                }
            }
        case .sharedSteps:
            groupSizes = (plan.threads, 0)
            schedules = (0..<c.numLayers).map { _ in rk_schedule_create(completionPhase, Int32(plan.threads)) }
        case .pipeline:
            groupSizes = (plan.threads, 0)
            schedules = [rk_schedule_create(Int32(2 * c.numLayers * plan.chunkCount), 1)]
        }
        let made = schedules.compactMap { $0 }
        self.schedules = made
        self.barrier = barrier
        guard made.count == schedules.count else { return nil }
        if case .directions = plan.strategy, barrier == nil { return nil }
    }

    deinit {
        schedules.forEach { rk_schedule_destroy($0) }
        if let barrier { rk_barrier_destroy(barrier) }
    }

    /// Every schedule back to its start, for another run (a stream's next step).
    func reset() {
        // By index: iterating an array allocates in unoptimised builds, and a stream's step allocates nothing.
        for index in 0..<schedules.count { rk_schedule_reset(schedules[index]) }
    }
}

/// One direction's state buffers: h (two, swapped each step), o⊙tanh(c) before an LSTM's projection, c, and a
/// reset-before GRU's step buffers.
struct LaneStates<Scalar: ForwardScalar> {
    let a: AlignedBuffer<Scalar>, b: AlignedBuffer<Scalar>, full: AlignedBuffer<Scalar>?, cell: AlignedBuffer<Scalar>?
    let resetBefore: ResetBeforeScratch<Scalar>?
}

/// What a reset-before GRU's step computes between its two products: h·W_h{r,z}ᵀ [B, 2H], r ⊙ h [B, H],
/// (r ⊙ h)·W_hnᵀ [B, H] and z [B, H].
struct ResetBeforeScratch<Scalar: ForwardScalar> {
    let sums: AlignedBuffer<Scalar>, reset: AlignedBuffer<Scalar>, candidate: AlignedBuffer<Scalar>, update: AlignedBuffer<Scalar>

    init(batch: Int, hidden: Int) {
        sums = AlignedBuffer(count: batch * 2 * hidden, zeroed: false)
        reset = AlignedBuffer(count: batch * hidden)
        candidate = AlignedBuffer(count: batch * hidden, zeroed: false)
        update = AlignedBuffer(count: batch * hidden, zeroed: false)
    }
}
