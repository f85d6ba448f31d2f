import Foundation

/// A unidirectional model run one time step at a time, carrying its state from step to step: for audio frames,
/// sensor readings or keystrokes that arrive one by one.
///
/// ```swift
/// let stream = try rnn.makeStream(batch: 1)
/// for frame in frames {                      // frame: [Float], input_size values
///     let output = try stream.step(frame)    // [Float], proj_size or hidden values
/// }
/// ```
///
/// A stream owns the state (h, and c for an LSTM, per layer) and every buffer a step needs, made when the stream
/// is: `step(_:into:)` on buffers allocates nothing and takes no lock. Streaming a sequence step by step, in any
/// mix of `step` and `run` calls, gives exactly the bits of `RNN.forward` over the whole sequence (the same
/// kernels, summing every element in the same order).
///
/// A stream is not thread-safe: call it from one thread or task at a time (make one stream per concurrent
/// sequence; they share the model's weights). Steps large enough to share between cores run on the stream's own
/// worker threads, which spin briefly between steps and then sleep; a step that wakes them takes a lock.
public final class RNNStream {
    /// The model it runs.
    public let model: RNN
    /// The sequences it runs side by side: every step takes `batch` × `input_size` values.
    public let batch: Int
    /// The most threads a step or chunk may use.
    public let threads: Int
    private let float32: StreamCore<Float>?
    private let float64: StreamCore<Double>?

    init(model: RNN, batch: Int, threads: Int?, tuning: ForwardTuning) throws {
        let c = model.configuration
        guard c.directions == 1, !c.reverse else { throw RNNInputError.bidirectionalStream }
        guard batch >= 1 else { throw RNNInputError.batchSize(batch) }
        let threads = threads ?? ProcessInfo.processInfo.activeProcessorCount
        guard threads >= 1 else { throw RNNInputError.threadCount(threads) }
        self.model = model
        self.batch = batch
        self.threads = threads
        switch model.precision {
        case .float32:
            float32 = try StreamCore(model: model, weights: model.packedWeights.floatDirections(), batch: batch,
                                     threads: threads, tuning: tuning)
            float64 = nil
        case .float64:
            float32 = nil
            float64 = try StreamCore(model: model, weights: model.packedWeights.doubleDirections(), batch: batch,
                                     threads: threads, tuning: tuning)
        }
    }

    /// Values in one step's input: `batch` × `input_size`.
    public var inputCount: Int { batch * model.configuration.inputSize }
    /// Values in one step's output: `batch` × S, S = proj_size or hidden.
    public var outputCount: Int { batch * model.configuration.outputSize }

    // MARK: one step

    /// Runs one step of a float32 model: `input` holds [batch, input_size] values (row-major), `output` receives
    /// [batch, S]. Allocates nothing and takes no lock.
    public func step(_ input: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) throws {
        guard let float32 else { throw RNNInputError.wrongDType(name: "input", expected: .float64, found: .float32) }
        try check(input.count, output.count)
        float32.step(input.baseAddress!, output.baseAddress!)
    }

    /// Runs one step of a float64 model, as `step(_:into:)` for Float.
    public func step(_ input: UnsafeBufferPointer<Double>, into output: UnsafeMutableBufferPointer<Double>) throws {
        guard let float64 else { throw RNNInputError.wrongDType(name: "input", expected: .float32, found: .float64) }
        try check(input.count, output.count)
        float64.step(input.baseAddress!, output.baseAddress!)
    }

    /// Runs one step of a float32 model: [batch, input_size] values in, [batch, S] out.
    public func step(_ input: [Float]) throws -> [Float] {
        var output = [Float](repeating: 0, count: outputCount)
        try input.withUnsafeBufferPointer { input in
            try output.withUnsafeMutableBufferPointer { try step(input, into: $0) }
        }
        return output
    }

    /// Runs one step of a float64 model: [batch, input_size] values in, [batch, S] out.
    public func step(_ input: [Double]) throws -> [Double] {
        var output = [Double](repeating: 0, count: outputCount)
        try input.withUnsafeBufferPointer { input in
            try output.withUnsafeMutableBufferPointer { try step(input, into: $0) }
        }
        return output
    }

    /// Runs one step: `input` is [batch, input_size] (or [input_size] when the batch is 1, as PyTorch's cells take
    /// an unbatched input), any floating-point dtype the model takes; returns [batch, S] ([S]) in the compute
    /// precision.
    public func step(_ input: Tensor) throws -> Tensor {
        let c = model.configuration
        let unbatched = input.shape.count == 1 && batch == 1
        guard unbatched || input.shape == [batch, c.inputSize], !unbatched || input.shape == [c.inputSize] else {
            throw RNNInputError.wrongShape(name: "input", expected: [batch, c.inputSize], found: input.shape)
        }
        var output = try Tensor(zeros: model.precision.dtype, shape: unbatched ? [c.outputSize] : [batch, c.outputSize])
        try output.withUnsafeMutableBytes { bytes in
            if let float32 {
                try model.withValues(input, name: "input", as: Float.self) { float32.step($0, bytes.bindMemory(to: Float.self).baseAddress!) }
            } else if let float64 {
                try model.withValues(input, name: "input", as: Double.self) { float64.step($0, bytes.bindMemory(to: Double.self).baseAddress!) }
            }
        }
        return output
    }

    /// `step(input)`: one step, as a cell is called in PyTorch.
    public func callAsFunction(_ input: Tensor) throws -> Tensor { try step(input) }

    // MARK: a chunk of steps

    /// Runs a chunk of steps: `input` is [T, batch, input_size] ([batch, T, input_size] for a batch-first model;
    /// [T, input_size] when the batch is 1); returns the chunk's output in the same layout, [.., S], and leaves the
    /// state after its last step. The same bits as T calls of `step`, computed as `RNN.forward` computes a sequence.
    public func run(_ input: Tensor) throws -> Tensor {
        let c = model.configuration
        let unbatched = input.shape.count == 2 && batch == 1
        let batchFirst = c.batchFirst && !unbatched
        let steps = input.shape.count == (unbatched ? 2 : 3) ? input.shape[batchFirst ? 1 : 0] : 0
        let expected: [Int?] = unbatched ? [nil, c.inputSize] : batchFirst ? [batch, nil, c.inputSize] : [nil, batch, c.inputSize]
        guard steps > 0, zip(expected, input.shape).allSatisfy({ $0.0 == nil || $0.0 == $0.1 }), input.shape.count == expected.count else {
            throw RNNInputError.wrongShape(name: "input", expected: expected, found: input.shape)
        }
        let shape = unbatched ? [steps, c.outputSize] : batchFirst ? [batch, steps, c.outputSize] : [steps, batch, c.outputSize]
        var output = try Tensor(zeros: model.precision.dtype, shape: shape)
        try output.withUnsafeMutableBytes { bytes in
            if let float32 {
                try model.withValues(input, name: "input", as: Float.self) {
                    float32.run($0, steps: steps, batchFirst: batchFirst, bytes.bindMemory(to: Float.self).baseAddress!)
                }
            } else if let float64 {
                try model.withValues(input, name: "input", as: Double.self) {
                    float64.run($0, steps: steps, batchFirst: batchFirst, bytes.bindMemory(to: Double.self).baseAddress!)
                }
            }
        }
        return output
    }

    // MARK: state

    /// The state after the last step: h [L, batch, S] and, for an LSTM, c [L, batch, H], in the compute precision.
    public var state: RNNState {
        if let float32 { return float32.state() }
        return float64!.state()
    }

    /// Goes on from `state` (shapes as `state`; a float64 state only for a float64 model).
    public func setState(_ state: RNNState) throws {
        let c = model.configuration
        let hShape = [c.numLayers, batch, c.outputSize], cShape = [c.numLayers, batch, c.hiddenSize]
        guard state.h.shape == hShape else { throw RNNInputError.wrongShape(name: "h", expected: hShape, found: state.h.shape) }
        if c.mode == .lstm {
            guard let cell = state.c else { throw RNNInputError.wrongShape(name: "c", expected: cShape, found: []) }
            guard cell.shape == cShape else { throw RNNInputError.wrongShape(name: "c", expected: cShape, found: cell.shape) }
        } else if state.c != nil {
            throw RNNInputError.noCellState
        }
        if let float32 {
            try float32.setState(h: model.values(state.h, name: "h", as: Float.self), c: state.c.map { try model.values($0, name: "c", as: Float.self) })
        } else if let float64 {
            try float64.setState(h: model.values(state.h, name: "h", as: Double.self), c: state.c.map { try model.values($0, name: "c", as: Double.self) })
        }
    }

    /// Back to the zero state, as at the start.
    public func reset() {
        float32?.reset()
        float64?.reset()
    }

    private func check(_ inputCount: Int, _ outputCount: Int) throws {
        let c = model.configuration
        guard inputCount == self.inputCount else {
            throw RNNInputError.wrongShape(name: "input", expected: [batch * c.inputSize], found: [inputCount])
        }
        guard outputCount == self.outputCount else {
            throw RNNInputError.wrongShape(name: "output", expected: [batch * c.outputSize], found: [outputCount])
        }
    }
}

extension RNN {
    /// A stream that runs this (unidirectional) model one step at a time for `batch` sequences, from the zero state.
    ///
    /// - Parameter threads: at most this many threads per step (1 or more; by default the machine's active cores).
    ///   Only large steps use more than one.
    /// - Throws: `RNNInputError.bidirectionalStream` for a bidirectional or reverse model (its backward direction starts from
    ///   the end of the sequence), `.batchSize` or `.threadCount` below 1.
    public func makeStream(batch: Int = 1, threads: Int? = nil) throws -> RNNStream {
        try RNNStream(model: self, batch: batch, threads: threads, tuning: ForwardTuning())
    }

    /// `makeStream`, with choices that only tests make.
    func makeStream(batch: Int, threads: Int?, tuning: ForwardTuning) throws -> RNNStream {
        try RNNStream(model: self, batch: batch, threads: threads, tuning: tuning)
    }
}

/// A stream's state and work buffers in its compute precision.
private final class StreamCore<Scalar: ForwardScalar> {
    let model: RNN
    let weights: [[PackedDirection<Scalar>]]
    let batch: Int, threads: Int, tuning: ForwardTuning
    /// [L, B, S] and (LSTM) [L, B, H]: read as h0/c0 and written as hN/cN by every step.
    let h: AlignedBuffer<Scalar>
    let c: AlignedBuffer<Scalar>?
    /// The plan and workspace of one step, and the threads it runs on (nil: this thread alone).
    let plan: ForwardPlan
    let workspace: ForwardWorkspace<Scalar>
    let team: ThreadTeam?
    /// The pass of one step: h and c are both its initial and its final states (read before any step runs); the
    /// input and output are the caller's, set per call.
    let task: ForwardTask<Scalar>

    init(model: RNN, weights: [[PackedDirection<Scalar>]], batch: Int, threads: Int, tuning: ForwardTuning) throws {
        let configuration = model.configuration
        self.model = model
        self.weights = weights
        self.batch = batch
        self.threads = threads
        self.tuning = tuning
        h = AlignedBuffer(count: configuration.numLayers * batch * configuration.outputSize)
        c = configuration.mode == .lstm ? AlignedBuffer(count: configuration.numLayers * batch * configuration.hiddenSize) : nil
        var plan = ForwardPlan(configuration: configuration, steps: 1, batch: batch, batchFirst: false, threads: threads,
                               scalarBytes: MemoryLayout<Scalar>.stride, limits: tuning.limits)
        var workspace = ForwardWorkspace<Scalar>(plan: plan, configuration: configuration, zeroedOutputs: false)
        let team = plan.threads > 1 ? ThreadTeam(workers: plan.threads - 1) : nil
        if workspace == nil || (plan.threads > 1 && team == nil) {  // no memory or threads: one thread, which needs neither
            plan = ForwardPlan(configuration: configuration, steps: 1, batch: batch, batchFirst: false, threads: 1,
                               scalarBytes: MemoryLayout<Scalar>.stride, limits: tuning.limits)
            workspace = ForwardWorkspace<Scalar>(plan: plan, configuration: configuration, zeroedOutputs: false)
        }
        guard let workspace else { throw RNNInputError.threadCount(threads) }
        self.plan = plan
        self.workspace = workspace
        self.team = plan.threads > 1 ? team : nil
        task = ForwardTask(ForwardPass(configuration: configuration, weights: weights, plan: plan, workspace: workspace,
                                       io: ForwardIO(input: UnsafePointer(h.pointer), h0: UnsafePointer(h.pointer),
                                                     c0: c.map { UnsafePointer($0.pointer) }, lengths: nil,
                                                     output: h.pointer, hN: h.pointer, cN: c?.pointer),
                                       kernels: tuning.kernels))
    }

    func step(_ input: UnsafePointer<Scalar>, _ output: UnsafeMutablePointer<Scalar>) {
        workspace.reset()
        task.pass.io.input = input
        task.pass.io.output = output
        task.run(team: team)
    }

    func run(_ input: UnsafePointer<Scalar>, steps: Int, batchFirst: Bool, _ output: UnsafeMutablePointer<Scalar>) {
        let configuration = model.configuration
        var plan = ForwardPlan(configuration: configuration, steps: steps, batch: batch, batchFirst: batchFirst,
                               threads: threads, scalarBytes: MemoryLayout<Scalar>.stride, limits: tuning.limits)
        var workspace = ForwardWorkspace<Scalar>(plan: plan, configuration: configuration, zeroedOutputs: false)
        if workspace == nil {
            plan = ForwardPlan(configuration: configuration, steps: steps, batch: batch, batchFirst: batchFirst, threads: 1,
                               scalarBytes: MemoryLayout<Scalar>.stride, limits: tuning.limits)
            workspace = ForwardWorkspace<Scalar>(plan: plan, configuration: configuration, zeroedOutputs: false)
        }
        var io = task.pass.io  // the stream's states, this call's input and output
        io.input = input
        io.output = output
        let pass = ForwardPass(configuration: configuration, weights: weights, plan: plan, workspace: workspace!, io: io,
                               kernels: tuning.kernels, staggerDirections: tuning.staggerDirections)
        model.teams.withTeam(workers: plan.threads - 1) { pass.run(team: $0) }
    }

    func state() -> RNNState {
        let configuration = model.configuration, dtype = Scalar.dtype
        let hShape = [configuration.numLayers, batch, configuration.outputSize]
        let hValues = Array(UnsafeBufferPointer(start: h.pointer, count: h.count))
        let cValues = c.map { Array(UnsafeBufferPointer(start: $0.pointer, count: $0.count)) }
        // Shapes and element counts agree by construction.
        let hTensor = try! Tensor(shape: hShape, elements: hValues)
        let cTensor = cValues.map { try! Tensor(shape: [configuration.numLayers, batch, configuration.hiddenSize], elements: $0) }
        precondition(hTensor.dtype == dtype)
        return RNNState(h: hTensor, c: cTensor)
    }

    func setState(h values: [Scalar], c cell: [Scalar]?) {
        h.pointer.update(from: values, count: h.count)
        if let c, let cell { c.pointer.update(from: cell, count: c.count) }
    }

    func reset() {
        h.pointer.update(repeating: 0, count: h.count)
        c?.pointer.update(repeating: 0, count: c!.count)
    }
}
