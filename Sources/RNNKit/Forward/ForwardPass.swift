import CRecurrentKernels

/// The forward pass of a multi-layer, optionally bidirectional RNN, LSTM or GRU, computing what PyTorch's CPU cells
/// compute (aten/src/ATen/native/RNN.cpp):
///
/// - RNN:  h = act((x·W_ih^T + b_ih) + (h·W_hh^T + b_hh))
/// - LSTM: gates i, f, g, o of the same two sums; c = f⊙c + i⊙g; h = o⊙tanh(c), then h·W_hr^T with projections
/// - GRU:  r, z from the sums; n = tanh(ih_n + r⊙hh_n) (the reset gate scales the recurrent term with its bias);
///         h = (h − n)⊙z + n, PyTorch's form of (1 − z)⊙n + z⊙h. The reset-before GRU, which PyTorch has not
///         (Keras's reset_after=False, ONNX's linear_before_reset=0), has n = tanh(ih_n + ((r⊙h)·W_hn^T + b_hn)):
///         two products per step (ForwardPass+ResetBefore.swift)
///
/// How: per layer and direction, the kernels project the input of a chunk of steps at once (x·W_ih^T, rk_project,
/// with W_ih packed at load), then run the chunk's steps (rk_sequence_run), each a small product h·W_hh^T fused with
/// the gate arithmetic. Every element is summed in the same order whoever computes it, so the plan's strategy
/// (`ForwardPlan`), its chunks and the thread count never change a bit of the result — nor does running a sequence
/// step by step (`RNNStream`), which is this pass with one step. One file per strategy (ForwardPass+*.swift).
/// (Tests/RNNKitTests/ReferenceForward.swift keeps the plain scalar version that the tests compare this with.)
///
/// Rows of the input, of each layer's output and of the input projection are in the caller's order: time-major
/// (row t·B + b) or batch-first (row b·T + t). With `lengths`, sequence b only runs its first lengths[b] steps:
/// later outputs are left as they are (zero), its states stop at its own last step, and the backward direction
/// starts from its own last step — what `pack_padded_sequence` then `pad_packed_sequence` give in PyTorch.
struct ForwardPass<Scalar: ForwardScalar> {
    let configuration: RNNConfiguration
    /// [layer][direction].
    let weights: [[PackedDirection<Scalar>]]
    let plan: ForwardPlan
    let workspace: ForwardWorkspace<Scalar>
    var io: ForwardIO<Scalar>
    /// Which kernels run (rk_kernels): −1, the best this CPU has.
    var kernels: Int32 = -1
    /// Tests of helping (directions strategy): the backward direction's threads start only once the forward
    /// direction is done, so that the forward group helps with all of it.
    var staggerDirections = false

    /// Runs the pass on `team` (nil, or a plan of one thread: on this thread alone).
    func run(team: ThreadTeam?) {
        ForwardTask(self).run(team: team)
    }

    /// Thread `thread`'s share of the plan's strategy.
    func run(thread: Int) {
        switch plan.strategy {
        case .alone: if thread == 0 { runAlone() }
        case .directions(let helping): runDirections(thread: thread, helping: helping)
        case .sharedSteps: runSharedSteps(thread: thread)
        case .pipeline: runPipeline(thread: thread)
        }
    }

    /// Every layer and direction in turn, on this thread.
    func runAlone() {
        for layer in 0..<configuration.numLayers {
            for direction in 0..<configuration.directions { runAlone(layer, direction) }
        }
    }

    /// One direction of one layer on one thread, chunk by chunk.
    func runAlone(_ layer: Int, _ direction: Int) {
        for chunk in 0..<plan.chunkCount {
            let times = plan.chunk(chunk, direction: direction).times
            for piece in 0..<plan.projectionPieces(times: times) {
                project(layer, direction, rows: plan.projectionPiece(piece, times: times), times: times, buffer: direction)
            }
            recur(layer, direction, chunk, buffer: direction, member: 0, schedule: nil)
        }
    }

    /// One direction of one layer shared by the threads that call this with the same schedule, at once or late:
    /// each claims pieces of every chunk's projection and of every step as it goes (rk_schedule).
    func runShared(_ layer: Int, _ direction: Int, member: Int, schedule: OpaquePointer) {
        let steps = Int32(2 * plan.steps)
        for chunk in 0..<plan.chunkCount {
            let times = plan.chunk(chunk, direction: direction).times
            let pieces = plan.projectionPieces(times: times), phase = steps + Int32(chunk)
            while case let piece = Int(rk_schedule_claim(schedule, phase, 0)), piece < pieces {
                project(layer, direction, rows: plan.projectionPiece(piece, times: times), times: times, buffer: direction)
                rk_schedule_finish(schedule, phase)
            }
            rk_schedule_wait(schedule, phase, Int32(pieces))
            recur(layer, direction, chunk, buffer: direction, member: member, schedule: schedule)
        }
    }

    // MARK: the parts every strategy uses

    /// h0 and c0 (or zeros) into every lane's state buffers, before any step runs.
    func prepareStates() {
        let c = configuration, batch = plan.batch, state = c.outputSize, hidden = c.hiddenSize
        let padded = (hidden + Scalar.packBlock - 1) / Scalar.packBlock * Scalar.packBlock
        for index in 0..<workspace.lanes.count {  // by index: see ForwardWorkspace.reset
            let lane = workspace.lanes[index]
            if let h0 = io.h0 {
                lane.a.pointer.update(from: h0 + index * batch * state, count: batch * state)
            } else {
                lane.a.pointer.update(repeating: 0, count: batch * state)
            }
            guard let cell = lane.cell else { continue }
            for b in 0..<batch {
                if let c0 = io.c0 {
                    (cell.pointer + b * padded).update(from: c0 + (index * batch + b) * hidden, count: hidden)
                } else {
                    (cell.pointer + b * padded).update(repeating: 0, count: hidden)
                }
            }
        }
    }

    func layerInput(_ layer: Int) -> UnsafePointer<Scalar> {
        layer == 0 ? io.input : UnsafePointer(workspace.between[(layer - 1) % plan.betweenBuffers].pointer)
    }

    func layerOutput(_ layer: Int) -> UnsafeMutablePointer<Scalar> {
        layer == configuration.numLayers - 1 ? io.output : workspace.between[layer % plan.betweenBuffers].pointer
    }

    /// x·W_ih^T for `rows` of layer `layer`'s input, into projection buffer `buffer`, which holds the chunk
    /// covering `times`.
    func project(_ layer: Int, _ direction: Int, rows: Range<Int>, times: Range<Int>, buffer: Int) {
        let columns = configuration.layerInputSize(layer), units = configuration.mode.gateCount * configuration.hiddenSize
        let out = workspace.projections[buffer].pointer + (rows.lowerBound - plan.firstRow(times: times)) * units
        Scalar.project(x: layerInput(layer) + rows.lowerBound * columns, ldx: columns, rows: rows.count, columns: columns,
                       weights: weights[layer][direction].inputPacked.pointer, units: units, out: out, ldout: units,
                       kernels: kernels)
    }

    /// The steps of chunk `chunk` of one direction of one layer, whose projection is in buffer `buffer`, as member
    /// `member` of the threads sharing `schedule` (nil: alone).
    func recur(_ layer: Int, _ direction: Int, _ chunk: Int, buffer: Int, member: Int, schedule: OpaquePointer?) {
        if configuration.isResetBeforeGRU {  // never shared: the plan runs it alone or one thread per direction
            recurResetBefore(layer, direction, chunk, buffer: buffer)
            return
        }
        let c = configuration, batch = plan.batch, state = c.outputSize
        let index = layer * c.directions + direction, lane = workspace.lanes[index]
        let gateWidth = c.mode.gateCount * c.hiddenSize, width = c.directions * state
        let (range, times) = plan.chunk(chunk, direction: direction)
        let timeRows = plan.batchFirst ? 1 : batch, batchRows = plan.batchFirst ? plan.steps : 1
        let job = SequenceJob<Scalar>(
            mode: c.kernelMode, batch: batch, steps: plan.steps, reverse: direction == 1, firstStep: range.lowerBound,
            stepCount: range.count, stateSize: state, hiddenSize: c.hiddenSize, projSize: c.projSize,
            weights: weights[layer][direction], xproj: UnsafePointer(workspace.projections[buffer].pointer),
            xprojFirstTime: plan.batchFirst ? 0 : times.lowerBound,
            xprojTimeStride: timeRows * gateWidth, xprojBatchStride: batchRows * gateWidth,
            output: layerOutput(layer) + direction * state, outputTimeStride: timeRows * width,
            outputBatchStride: batchRows * width, hA: lane.a.pointer, hB: lane.b.pointer, hFull: lane.full?.pointer,
            cell: lane.cell?.pointer, lengths: io.lengths, hN: io.hN + index * batch * state,
            cN: io.cN.map { $0 + index * batch * c.hiddenSize }, kernels: kernels)
        Scalar.runSequence(job, member: member, schedule: schedule)
    }
}

/// A forward pass as a thread team's task. A stream keeps one and changes only its `io` from step to step, so
/// that a step allocates nothing.
final class ForwardTask<Scalar: ForwardScalar>: TeamTask, @unchecked Sendable {
    var pass: ForwardPass<Scalar>

    init(_ pass: ForwardPass<Scalar>) { self.pass = pass }

    /// Runs the pass on `team` (nil, or a plan of one thread: on this thread alone).
    func run(team: ThreadTeam?) {
        pass.prepareStates()
        guard pass.plan.threads > 1, let team else {
            pass.runAlone()
            return
        }
        team.run(threads: pass.plan.threads, self)
    }

    override func run(thread: Int) { pass.run(thread: thread) }
}

/// Where a forward pass reads and writes: `input` [T·B, I] and `output` [T·B, D·S] (zero-filled when `lengths`
/// are given), rows in the plan's order; `h0` [L·D, B, S] and `c0` [L·D, B, H], nil for zeros; `hN` and `cN`
/// receive the final states in the same layouts (they may be `h0` and `c0` themselves: the initial states are read
/// before any step runs).
struct ForwardIO<Scalar> {
    var input: UnsafePointer<Scalar>
    var h0: UnsafePointer<Scalar>?
    var c0: UnsafePointer<Scalar>?
    var lengths: UnsafePointer<Int32>?
    var output: UnsafeMutablePointer<Scalar>
    var hN: UnsafeMutablePointer<Scalar>
    var cN: UnsafeMutablePointer<Scalar>?
}

extension RNNConfiguration {
    /// The kernels' rk_mode for this configuration.
    var kernelMode: Int32 {
        switch mode {
        case .rnn: Int32(nonlinearity == .relu ? RK_MODE_RNN_RELU.rawValue : RK_MODE_RNN_TANH.rawValue)
        case .lstm: Int32(RK_MODE_LSTM.rawValue)
        case .gru: Int32(RK_MODE_GRU.rawValue)
        }
    }
}
