import CRecurrentKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The forward pass of a multi-layer, optionally bidirectional RNN, LSTM or GRU, computing what PyTorch's CPU cells
/// compute (aten/src/ATen/native/RNN.cpp):
///
/// - RNN:  h = act((x·W_ih^T + b_ih) + (h·W_hh^T + b_hh))
/// - LSTM: gates i, f, g, o of the same two sums; c = f⊙c + i⊙g; h = o⊙tanh(c), then h·W_hr^T with projections
/// - GRU:  r, z from the sums; n = tanh(ih_n + r⊙hh_n) (the reset gate scales the recurrent term with its bias);
///         h = (h − n)⊙z + n, PyTorch's form of (1 − z)⊙n + z⊙h
///
/// How: per layer and direction, GEMMs (OpenBLAS) project the input of many time steps at once (all of them, or
/// chunks of ~24 MB); then the C kernels (recurrent_kernels.h) run the steps, each a small product with weights
/// packed at load time, fused with the gate arithmetic. With two threads, the two directions of a bidirectional
/// layer run side by side (with large steps, the thread done first helps with the other's last steps); a
/// unidirectional layer with enough work per step shares each step's unit blocks between the threads (each takes
/// its own half first, then helps with the other's), and each GEMM's rows. Every element is computed the same way
/// whatever the thread count, so the results are bit-for-bit the same with one thread or two.
/// (Tests/RNNKitTests/ReferenceForward.swift keeps the plain scalar version that the tests compare this with.)
///
/// Rows of the input, of each layer's output and of the input projection are in the caller's order: time-major
/// (row t·B + b) or batch-first (row b·T + t). With `lengths`, sequence b only runs its first lengths[b] steps:
/// later outputs are left as they are (zero), its states stop at its own last step, and the backward direction
/// starts from its own last step — what `pack_padded_sequence` then `pad_packed_sequence` give in PyTorch.
struct RecurrentForward<Scalar: ForwardScalar> {
    let configuration: RNNConfiguration
    /// [layer][direction].
    let weights: [[PackedDirection<Scalar>]]
    /// Choices that only tests change.
    var tuning = ForwardTuning()

    /// Per-step multiply-adds (B·S·G·H) from which a unidirectional layer shares its steps between two threads:
    /// below, handing half of each step to the other core costs more than it saves (a round trip between the two
    /// cores of this machine takes ~1 µs; measured: B4 H256 RNN, 262K, is no faster on two threads; B1 H512 GRU,
    /// 786K, is 3× faster, its two halves fitting the two cores' L2 caches where the whole does not fit one).
    static var splitThreshold: Int { 384 * 1024 }
    /// Per-step multiply-adds below which a unidirectional model with several layers pipelines them on two threads
    /// rather than sharing each step (B4 H256 2-layer LSTM, 1M: 5.1 ms shared, see BENCHMARKS.md for pipelined).
    static var pipelineLimit: Int { 4 << 20 }
    /// Total multiply-adds from which the two directions of a bidirectional model run on two threads.
    static var directionsThreshold: Int { 256 * 1024 }
    /// Rows from which the input projection is cut in two GEMMs (four from 8192), so that two threads can share it.
    static var projectionSplitRows: Int { 64 }

    /// Runs the model. `input` is [T·B, I] and `output` [T·B, D·S] (zero-filled when `lengths` are given), rows in
    /// the order `batchFirst` says; `h0` [L·D, B, S], `c0` [L·D, B, H]; `hN` and `cN` receive the final states in the
    /// same layouts. `threads` is 1 or 2.
    func run(input: UnsafePointer<Scalar>, steps: Int, batch: Int, batchFirst: Bool, h0: UnsafePointer<Scalar>?,
             c0: UnsafePointer<Scalar>?, lengths: [Int]?, output: UnsafeMutablePointer<Scalar>,
             hN: UnsafeMutablePointer<Scalar>, cN: UnsafeMutablePointer<Scalar>?, threads: Int) {
        BLAS.prepare()  // before the second thread starts, even when no GEMM runs: OpenBLAS's own pool must be quiet
        let c = configuration
        let hidden = c.hiddenSize, state = c.outputSize, proj = c.projSize, directions = c.directions
        let gates = c.mode.gateCount, layers = c.numLayers
        let rows = steps * batch, width = directions * state, gateWidth = gates * hidden
        let block = Scalar.packBlock
        let padded = (hidden + block - 1) / block * block
        // Row strides of time and batch, in rows.
        let timeRows = batchFirst ? 1 : batch, batchRows = batchFirst ? steps : 1
        let mode: Int32 = switch c.mode {
        case .rnn: Int32(c.nonlinearity == .relu ? RK_MODE_RNN_RELU.rawValue : RK_MODE_RNN_TANH.rawValue)
        case .lstm: Int32(RK_MODE_LSTM.rawValue)
        case .gru: Int32(RK_MODE_GRU.rawValue)
        }

        // How the work is shared. With two threads, a bidirectional model runs its directions side by side; a
        // unidirectional one pipelines its layers (tasks of an eighth of the sequence: see runPipelined)
        // unless its steps are large, and shares each step when they are. Where steps are small (below the split
        // threshold) or cut into a pipeline's small chunks, OpenBLAS would spend more on its call and on packing
        // W_ih again than on the product: the kernels project with the weights they packed at load.
        let perStep = batch * state * gateWidth + batch * hidden * proj
        let pipelineShape = directions == 1 && layers >= 2 && !batchFirst && perStep < Self.pipelineLimit
        let ownProjection = perStep < Self.splitThreshold || pipelineShape
        let work = perStep * steps * layers * directions
        // Bidirectional, each thread runs its own direction, then helps with the other's remaining steps (their
        // pieces are claimed as with .shareSteps): on a shared machine one thread is often slowed for a while, and
        // the other would otherwise wait for it. Only where a step is worth sharing (see splitThreshold): alone on
        // its direction, a thread claims each piece of each step, a few atomic operations per step.
        let helping = perStep >= Self.splitThreshold
        let strategy: Strategy
        if threads < 2 || work < Self.directionsThreshold {
            strategy = .alone
        } else if directions == 2 {
            strategy = .directions
        } else if pipelineShape {
            strategy = .pipeline
        } else if perStep >= Self.splitThreshold {
            strategy = .shareSteps
        } else {
            strategy = .alone
        }
        // The input projection, a chunk of steps at a time (all at once when batch-first: rows are not in time
        // order); the chunks depend on the shapes only, never on the thread count (OpenBLAS's results may depend on
        // a GEMM's height). A pipeline wants eighths of the sequence.
        let chunkSteps = batchFirst ? steps
            : pipelineShape ? max((steps + 7) / 8, 1)
            : min(steps, max(tuning.projectionChunkBytes / MemoryLayout<Scalar>.stride / (batch * gateWidth),
                             (tuning.projectionChunkRows + batch - 1) / batch, 1))
        let chunkCount = (steps + chunkSteps - 1) / chunkSteps
        // Buffers, once per call (nothing is allocated per step): states per lane (a direction, or a pipeline's
        // layer), input projections per direction (a pipeline's layer has two, for alternate chunks), and the
        // outputs of the layers below the last (two, used in turn; a pipeline's layers run at once: one each).
        let lanes = strategy == .pipeline ? layers : directions
        let projectionBuffers = strategy == .pipeline ? 2 * layers : directions
        let betweenBuffers = strategy == .pipeline ? layers - 1 : min(layers - 1, 2)

        let xproj = (0..<projectionBuffers).map { _ in
            let buffer = AlignedBuffer<Scalar>(count: chunkSteps * batch * gateWidth + block, zeroed: false, recycled: true)
            (buffer.pointer + chunkSteps * batch * gateWidth).initialize(repeating: 0, count: block)  // read past the last row
            return buffer
        }
        let between = (0..<betweenBuffers).map { _ in
            AlignedBuffer<Scalar>(count: rows * width, zeroed: lengths != nil, recycled: true)
        }
        let states = (0..<lanes).map { _ in
            DirectionStates<Scalar>(a: AlignedBuffer(count: batch * state + block), b: AlignedBuffer(count: batch * state + block),
                                    full: proj > 0 ? AlignedBuffer(count: batch * padded) : nil,
                                    cell: c.mode == .lstm ? AlignedBuffer(count: batch * padded) : nil)
        }

        let lengths32 = lengths.map { $0.map { Int32($0) } }
        lengths32.withUnsafeBufferPointerIfPresent { lengthPointer in
            func layerInput(_ layer: Int) -> UnsafePointer<Scalar> {
                layer == 0 ? input : UnsafePointer(between[(layer - 1) % betweenBuffers].pointer)
            }
            func layerOutput(_ layer: Int) -> UnsafeMutablePointer<Scalar> {
                layer == layers - 1 ? output : between[layer % betweenBuffers].pointer
            }
            /// h0 and c0 (or zeros) into the lane's state buffers.
            func prepare(_ layer: Int, _ direction: Int, lane: Int) {
                let index = layer * directions + direction, s = states[lane]
                if let h0 {
                    s.a.pointer.update(from: h0 + index * batch * state, count: batch * state)
                } else {
                    s.a.pointer.update(repeating: 0, count: batch * state)
                }
                if let cell = s.cell {
                    for b in 0..<batch {
                        if let c0 {
                            (cell.pointer + b * padded).update(from: c0 + (index * batch + b) * hidden, count: hidden)
                        } else {
                            (cell.pointer + b * padded).update(repeating: 0, count: hidden)
                        }
                    }
                }
            }
            /// The steps of chunk `chunk` (in the order the direction runs them) and the times they cover.
            func chunkRange(_ chunk: Int, _ direction: Int) -> (steps: Range<Int>, times: Range<Int>) {
                let range = (chunk * chunkSteps)..<min((chunk + 1) * chunkSteps, steps)
                return (range, direction == 0 ? range : (steps - range.upperBound)..<(steps - range.lowerBound))
            }
            /// The GEMMs of a chunk's projection: its rows, in up to 4 pieces (so that two threads can share them);
            /// a fixed rule, the same with one thread. Few: OpenBLAS packs all of W_ih again for every GEMM.
            func projectionParts(_ times: Range<Int>) -> [Range<Int>] {
                let first = batchFirst ? 0 : times.lowerBound * batch, count = batchFirst ? rows : times.count * batch
                let pieces = count >= 8192 ? 4 : count >= Self.projectionSplitRows ? 2 : 1
                return (0..<pieces).map { first + $0 * count / pieces..<first + ($0 + 1) * count / pieces }
            }
            func project(_ layer: Int, _ direction: Int, _ part: Range<Int>, from firstRow: Int, buffer: Int) {
                let columns = c.layerInputSize(layer), w = weights[layer][direction]
                let x = layerInput(layer) + part.lowerBound * columns
                let out = xproj[buffer].pointer + (part.lowerBound - firstRow) * gateWidth
                if ownProjection {
                    Scalar.project(x: x, ldx: columns, rows: part.count, columns: columns, weights: w.inputPacked.pointer,
                                   units: gateWidth, out: out, ldout: gateWidth, kernels: tuning.kernels)
                } else {
                    Scalar.gemm(m: part.count, n: gateWidth, k: columns, a: x, lda: columns, b: w.input.pointer, ldb: columns,
                                c: out, ldc: gateWidth)
                }
            }
            func recur(_ layer: Int, _ direction: Int, _ chunk: Int, lane: Int, buffer: Int, thread: Int, threads: Int,
                       schedule: OpaquePointer?) {
                let index = layer * directions + direction, s = states[lane]
                let (range, times) = chunkRange(chunk, direction)
                let job = SequenceJob<Scalar>(
                    mode: mode, batch: batch, steps: steps, reverse: direction == 1, firstStep: range.lowerBound,
                    stepCount: range.count, stateSize: state, hiddenSize: hidden, projSize: proj,
                    weights: weights[layer][direction], xproj: UnsafePointer(xproj[buffer].pointer),
                    xprojFirstTime: batchFirst ? 0 : times.lowerBound,
                    xprojTimeStride: timeRows * gateWidth, xprojBatchStride: batchRows * gateWidth,
                    output: layerOutput(layer) + direction * state, outputTimeStride: timeRows * width,
                    outputBatchStride: batchRows * width, hA: s.a.pointer, hB: s.b.pointer, hFull: s.full?.pointer,
                    cell: s.cell?.pointer, lengths: lengthPointer, hN: hN + index * batch * state,
                    cN: cN.map { $0 + index * batch * hidden }, kernels: tuning.kernels)
                Scalar.runSequence(job, thread: thread, threads: threads, schedule: schedule)
            }
            /// One direction of one layer on one thread, chunk by chunk.
            func runAlone(_ layer: Int, _ direction: Int, lane: Int) {
                prepare(layer, direction, lane: lane)
                for chunk in 0..<chunkCount {
                    let times = chunkRange(chunk, direction).times
                    for part in projectionParts(times) {
                        project(layer, direction, part, from: batchFirst ? 0 : times.lowerBound * batch, buffer: direction)
                    }
                    recur(layer, direction, chunk, lane: lane, buffer: direction, thread: 0, threads: 1, schedule: nil)
                }
            }
            /// One direction of one layer shared by two threads: both call this, at once or one of them later (it
            /// finds the pieces done so far claimed, and joins in where the work is). They claim the pieces of
            /// each GEMM and of each step as they go (rk_schedule), so that neither waits for the other beyond a
            /// piece it holds (the machine may be shared).
            func runShared(_ layer: Int, _ direction: Int, thread: Int, schedule: OpaquePointer) {
                if thread == 0 {
                    prepare(layer, direction, lane: direction)
                    rk_schedule_finish(schedule, Int32(2 * steps), 0)  // counted as a piece of the first projection
                }
                for chunk in 0..<chunkCount {
                    let times = chunkRange(chunk, direction).times
                    let firstRow = batchFirst ? 0 : times.lowerBound * batch
                    let parts = projectionParts(times)
                    let phase = Int32(2 * steps + chunk)
                    while case let i = Int(rk_schedule_claim(schedule, phase, 0)), i < parts.count {
                        project(layer, direction, parts[i], from: firstRow, buffer: direction)
                        rk_schedule_finish(schedule, phase, Int32(thread))
                    }
                    rk_schedule_wait(schedule, phase, Int32(parts.count + (chunk == 0 ? 1 : 0)))
                    recur(layer, direction, chunk, lane: direction, buffer: direction, thread: thread, threads: 2, schedule: schedule)
                }
            }

            /// The layers of a unidirectional model as tasks that both threads call this to share: P(l, c) projects
            /// chunk c of layer l, once layer l − 1 has run it and layer l has run chunk c − 2 (whose projection
            /// buffer it reuses); R(l, c) runs the chunk's steps, once P(l, c) and R(l, c − 1) are done. A thread
            /// takes the ready tasks of its own layers (l mod 2 = thread) first, so that their weights stay in its
            /// cache, a run before a projection (the runs are the critical path), and helps with the other
            /// thread's layers when none of its own is ready: three layers keep both cores busy, where fixed
            /// halves gave one thread two layers. Who runs a task changes no bit of its result.
            func runPipelined(thread: Int, schedule: OpaquePointer) {
                func task(_ layer: Int, _ chunk: Int, run: Bool) -> Int32 { Int32((layer * chunkCount + chunk) * 2 + (run ? 1 : 0)) }
                func done(_ layer: Int, _ chunk: Int, run: Bool) -> Bool { rk_schedule_finished(schedule, task(layer, chunk, run: run)) > 0 }
                func ready(_ layer: Int, _ chunk: Int, run: Bool) -> Bool {
                    run ? done(layer, chunk, run: false) && (chunk == 0 || done(layer, chunk - 1, run: true))
                        : (layer == 0 || done(layer - 1, chunk, run: true)) && (chunk < 2 || done(layer, chunk - 2, run: true))
                }
                let order = Array(stride(from: thread, to: layers, by: 2)) + Array(stride(from: 1 - thread, to: layers, by: 2))
                var next = [Int](repeating: 0, count: 2 * layers)  // per layer and kind: the first chunk not seen done
                var idle = 0
                search: while true {
                    var finished = true
                    for layer in order {
                        for kind in stride(from: 1, through: 0, by: -1) {  // its run, then its projection
                            let run = kind == 1, cursor = layer * 2 + kind
                            while next[cursor] < chunkCount && done(layer, next[cursor], run: run) { next[cursor] += 1 }
                            let first = next[cursor]
                            guard first < chunkCount else { continue }
                            finished = false
                            // While the other thread projects chunk c, the projection of c + 1 may be ready too.
                            for chunk in first..<min(first + (run ? 1 : 2), chunkCount) where ready(layer, chunk, run: run) {
                                let id = task(layer, chunk, run: run)
                                guard rk_schedule_claim(schedule, id, 0) == 0 else { continue }
                                let buffer = layer * 2 + chunk % 2
                                if run {
                                    if chunk == 0 { prepare(layer, 0, lane: layer) }
                                    recur(layer, 0, chunk, lane: layer, buffer: buffer, thread: 0, threads: 1, schedule: nil)
                                } else {
                                    let times = chunkRange(chunk, 0).times
                                    for part in projectionParts(times) {
                                        project(layer, 0, part, from: times.lowerBound * batch, buffer: buffer)
                                    }
                                }
                                rk_schedule_finish(schedule, id, Int32(thread))
                                idle = 0
                                continue search
                            }
                        }
                    }
                    if finished { return }
                    // Spin, then yield, as rk_schedule_wait does: the other thread may share this core for a while.
                    idle += 1
                    if idle < 4000 { rk_spin_pause() } else { sched_yield() }
                }
            }

            if strategy != .alone, let barrier = rk_barrier_create(2) {
                // .shareSteps and .directions: one schedule per layer and direction (phases: the steps', the
                // chunks' projections, then `completion`, which the thread that owns a direction marks when it is
                // done with it); .pipeline: one with a phase per task.
                let completion = Int32(2 * steps + chunkCount)
                let schedules = (0..<(strategy == .pipeline ? 1 : layers * directions)).compactMap { _ in
                    rk_schedule_create(strategy == .pipeline ? Int32(2 * layers * chunkCount) : completion + 1)
                }
                defer {
                    rk_barrier_destroy(barrier)
                    schedules.forEach { rk_schedule_destroy($0) }
                }
                let body = { (thread: Int) in
                    switch strategy {
                    case .directions:
                        for layer in 0..<layers {
                            if helping {
                                let own = schedules[layer * 2 + thread], other = schedules[layer * 2 + 1 - thread]
                                if thread == 1 && tuning.staggerDirections {
                                    while rk_schedule_finished(other, completion) == 0 { sched_yield() }
                                }
                                runShared(layer, thread, thread: 0, schedule: own)
                                rk_schedule_finish(own, completion, 0)
                                if rk_schedule_finished(other, completion) == 0 {
                                    runShared(layer, 1 - thread, thread: 1, schedule: other)
                                }
                            } else {
                                runAlone(layer, thread, lane: thread)
                            }
                            rk_barrier_wait(barrier)  // the layer's output is the next layer's input
                        }
                    case .shareSteps:
                        for layer in 0..<layers {
                            for direction in 0..<directions {
                                runShared(layer, direction, thread: thread, schedule: schedules[layer * directions + direction])
                            }
                        }
                    case .pipeline:
                        runPipelined(thread: thread, schedule: schedules[0])
                    case .alone:
                        break
                    }
                }
                while schedules.count == (strategy == .pipeline ? 1 : layers * directions) {
                    if ParallelRunner.run(body) { return }
                    guard tuning.waitForWorker else { break }
                    sched_yield()
                }
            }
            for layer in 0..<layers {
                for direction in 0..<directions { runAlone(layer, direction, lane: direction) }
            }
        }
    }

    /// How two threads share the work (see `run`).
    private enum Strategy {
        case alone, directions, shareSteps, pipeline
    }
}

/// The forward pass's choices that only tests change.
struct ForwardTuning: Sendable {
    /// Which kernels run (rk_kernels in recurrent_kernels.h): −1, the best this CPU has.
    var kernels: Int32 = -1
    /// Bytes of input projection computed at a time (time-major input): few enough that the buffer is reused by
    /// malloc from call to call (glibc maps anything above 32 MB afresh, page faults and all) and the kernels find
    /// it in cache…
    var projectionChunkBytes = 24 << 20
    /// … and at least this many rows: OpenBLAS packs all of W_ih again for each GEMM, which fewer rows amortise
    /// badly (chunks of 512 rows spent 8% of the B64 H1024 LSTM's time packing).
    var projectionChunkRows = 2048
    /// When another call has the worker thread: wait for it (tests that must run on two threads), or run alone.
    var waitForWorker = false
    /// Bidirectional with helping threads: the second thread starts its direction only once the first thread has
    /// finished its own, so that the first helps with the whole of it (tests of helping; see `run`).
    var staggerDirections = false
}

/// One direction's state buffers: h (two, swapped each step), o⊙tanh(c) before the projection, and c.
private struct DirectionStates<Scalar: ForwardScalar> {
    let a: AlignedBuffer<Scalar>, b: AlignedBuffer<Scalar>, full: AlignedBuffer<Scalar>?, cell: AlignedBuffer<Scalar>?
}

extension Optional {
    /// Calls `body` with a pointer to the array's elements, or with nil when there is no array.
    func withUnsafeBufferPointerIfPresent<E, R>(_ body: (UnsafePointer<E>?) throws -> R) rethrows -> R where Wrapped == [E] {
        switch self {
        case .some(let array): try array.withUnsafeBufferPointer { try body($0.baseAddress) }
        case .none: try body(nil)
        }
    }
}
