/// How a forward pass runs: which strategy shares the work between threads, how many threads it uses, how the
/// input projection is cut into chunks of steps, and which buffers that takes. A pure value, computed from the
/// model's configuration, the call's shapes and the thread count alone (no measurement, no machine state), so
/// that it can be tested on its own; `ForwardPass` carries it out.
///
/// Nothing in a plan changes any element's arithmetic: every strategy, chunking and thread count gives the same
/// bits (the kernels sum every element in the same order, whoever computes it). A plan only decides the time.
struct ForwardPlan: Equatable, Sendable {
    /// How the threads share the work.
    enum Strategy: Equatable, Sendable {
        /// One thread runs every layer and direction in turn.
        case alone
        /// Bidirectional: the threads are split into two groups, one per direction, which run side by side,
        /// layer by layer. With `helping`, each group shares its direction's steps and, done first, helps with
        /// the other direction's remaining steps (worth it only where a step is large: see `Limits`).
        case directions(helping: Bool)
        /// Unidirectional with large steps: every thread shares every step (each takes a part of the step's unit
        /// blocks, then helps with the others' parts), layer by layer.
        case sharedSteps
        /// Unidirectional, several layers, small steps: the layers' chunks of steps are tasks (project chunk c of
        /// layer l, run its steps) that the threads take as they become ready, so that layer l runs chunk c while
        /// layer l + 1 runs chunk c − 1.
        case pipeline
    }

    /// The sizes from which a strategy pays for itself, in multiply-adds, and the input projection's chunking.
    /// Tests lower them to take every strategy with small models.
    struct Limits: Equatable, Sendable {
        /// Per-step multiply-adds (B·S·G·H + B·H·P) from which threads share each step: below, handing part of a
        /// step to another core costs more than it saves (each step's hand-over is a round trip between cores).
        var sharedStep = 384 * 1024
        /// Per-step multiply-adds below which a unidirectional model with several layers pipelines its layers
        /// rather than sharing each step.
        var pipelineStep = 4 << 20
        /// Multiply-adds of the whole call from which it uses more than one thread.
        var parallelWork = 256 * 1024
        /// Bytes of input projection computed at a time (time-major input): few enough that the buffer is reused
        /// from call to call and found in cache by the steps that read it…
        var projectionChunkBytes = 24 << 20
        /// … and at least this many rows, so that each pass over W_ih serves many rows.
        var projectionChunkRows = 2048
        /// Rows from which a chunk's projection is cut into pieces that threads share (one per thread, at most 8).
        var projectionSplitRows = 64
    }

    let strategy: Strategy
    /// The threads the plan uses, the caller's included (at most the requested count).
    let threads: Int
    /// Steps per chunk of the input projection (the whole sequence when batch-first: its rows are not in time
    /// order), and the number of chunks.
    let chunkSteps: Int
    let chunkCount: Int
    /// Rows of the input, outputs and projections: steps · batch.
    let rows: Int
    /// The input projection's buffers: one per direction, or (pipeline) two per layer for alternate chunks.
    let projectionBuffers: Int
    /// Buffers for the outputs of the layers below the last: two used in turn, or (pipeline) one per layer.
    let betweenBuffers: Int
    /// Per-step multiply-adds of one direction (B·S·G·H + B·H·P).
    let stepWork: Int

    /// The plan for `steps` steps of `batch` sequences on at most `threads` threads, computing in a type of
    /// `scalarBytes` bytes (4: float32, 8: float64).
    init(configuration c: RNNConfiguration, steps: Int, batch: Int, batchFirst: Bool, threads requested: Int,
         scalarBytes: Int, limits: Limits = Limits()) {
        let gateWidth = c.mode.gateCount * c.hiddenSize
        let stepWork = batch * c.outputSize * gateWidth + batch * c.hiddenSize * c.projSize
        let work = stepWork * steps * c.numLayers * c.directions
        let pipelineShape = c.directions == 1 && c.numLayers >= 2 && !batchFirst && steps >= 2
            && stepWork < limits.pipelineStep
        let hiddenBlocks = (c.hiddenSize * scalarBytes + 63) / 64  // a step's parts never usefully outnumber its blocks
        var strategy = Strategy.alone, threads = 1
        if requested >= 2 && work >= limits.parallelWork {
            if c.isResetBeforeGRU {
                // Its steps are two products with element-wise work between them, run by one thread: at most
                // one thread per direction.
                if c.directions == 2 { (strategy, threads) = (.directions(helping: false), 2) }
            } else if c.directions == 2 {
                let helping = stepWork >= limits.sharedStep
                strategy = .directions(helping: helping)
                threads = helping ? min(requested, 2 * hiddenBlocks) : 2
            } else if pipelineShape {
                strategy = .pipeline
                threads = min(requested, c.numLayers)
            } else if stepWork >= limits.sharedStep {
                strategy = .sharedSteps
                threads = min(requested, hiddenBlocks)
            }
        }
        if threads < 2 { (strategy, threads) = (.alone, 1) }  // nothing to share (one block of units)
        self.strategy = strategy
        self.threads = threads
        self.stepWork = stepWork
        rows = steps * batch
        // The chunks depend on the shapes only, never on the thread count.
        chunkSteps = batchFirst ? steps
            : strategy == .pipeline ? max((steps + 7) / 8, 1)
            : min(steps, max(limits.projectionChunkBytes / scalarBytes / (batch * gateWidth),
                             (limits.projectionChunkRows + batch - 1) / batch, 1))
        chunkCount = (steps + chunkSteps - 1) / chunkSteps
        projectionBuffers = strategy == .pipeline ? 2 * c.numLayers : c.directions
        betweenBuffers = strategy == .pipeline ? c.numLayers - 1 : min(c.numLayers - 1, 2)
        projectionSplitRows = limits.projectionSplitRows
        self.steps = steps
        self.batch = batch
        self.batchFirst = batchFirst
    }

    let steps: Int, batch: Int, batchFirst: Bool
    private let projectionSplitRows: Int

    /// The steps of chunk `chunk` in the order direction `direction` runs them, and the times they cover.
    func chunk(_ chunk: Int, direction: Int) -> (steps: Range<Int>, times: Range<Int>) {
        let range = (chunk * chunkSteps)..<min((chunk + 1) * chunkSteps, steps)
        return (range, direction == 0 ? range : (steps - range.upperBound)..<(steps - range.lowerBound))
    }

    /// The first row of the projection buffer for the chunk covering `times`.
    func firstRow(times: Range<Int>) -> Int { batchFirst ? 0 : times.lowerBound * batch }

    /// How many pieces the projection of the chunk covering `times` is cut into: a fixed rule (the same with one
    /// thread), one per thread up to 8 where there are enough rows.
    func projectionPieces(times: Range<Int>) -> Int {
        let count = batchFirst ? rows : times.count * batch
        return count >= projectionSplitRows * 2 ? min(max(threads, 2), 8, count / projectionSplitRows) : 1
    }

    /// Rows of piece `piece` of the projection of the chunk covering `times`.
    func projectionPiece(_ piece: Int, times: Range<Int>) -> Range<Int> {
        let first = firstRow(times: times), count = batchFirst ? rows : times.count * batch
        let pieces = projectionPieces(times: times)
        return first + piece * count / pieces..<first + (piece + 1) * count / pieces
    }
}
