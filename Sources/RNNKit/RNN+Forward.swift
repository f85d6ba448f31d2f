import CRecurrentKernels
import Foundation

/// What a forward pass returns, as PyTorch's `output, h_n = rnn(input, h0)` (LSTM: `output, (h_n, c_n)`).
public struct RNNOutput: Sendable, Equatable {
    /// [T, B, D·S] ([B, T, D·S] batch-first; [T, D·S] unbatched), S = proj_size or hidden: the last layer's
    /// states, forward half then backward half; zeros past each sequence's length.
    public var output: Tensor
    /// [L·D, B, S] ([L·D, S] unbatched): each layer's final state, layer by layer, forward before backward.
    public var hN: Tensor
    /// LSTM only: [L·D, B, H] ([L·D, H] unbatched), the final cell states; nil for RNN and GRU.
    public var cN: Tensor?

    /// A result of these tensors (what a computation other than `forward` gives in the same layout).
    public init(output: Tensor, hN: Tensor, cN: Tensor? = nil) {
        self.output = output
        self.hN = hN
        self.cN = cN
    }
}

extension RNNOutput {
    /// The final states as one value (`hN`, and `cN` for an LSTM): what a later call takes to go on from here.
    public var state: RNNState { RNNState(h: hN, c: cN) }
}

extension RNN {
    /// Runs the model over `input`, exactly as the PyTorch module's `forward`.
    ///
    /// - Parameters:
    ///   - input: [T, B, I] ([B, T, I] when the model is batch-first) or unbatched [T, I]. Float inputs are widened
    ///     exactly to the compute precision; float64 inputs to a float32 model are refused, as PyTorch refuses them.
    ///   - h0: [L·D, B, S] (without the B axis when unbatched); zeros by default.
    ///   - c0: LSTM only: [L·D, B, H]; zeros by default.
    ///   - lengths: one per batch element, 1…T: what `pack_padded_sequence(enforce_sorted=False)` → module →
    ///     `pad_packed_sequence(total_length: T)` gives (zeros past each length).
    ///   - threads: at most this many threads (1 or more; by default the machine's active cores). The thread count
    ///     never changes a bit of the result, only the time; small models run on one thread whatever it is.
    /// - Throws: `RNNInputError` naming the argument and what is wrong with it.
    public func forward(_ input: Tensor, h0: Tensor? = nil, c0: Tensor? = nil, lengths: [Int]? = nil, threads: Int? = nil) throws -> RNNOutput {
        try forward(input, h0: h0, c0: c0, lengths: lengths, threads: threads, tuning: ForwardTuning())
    }

    /// `forward(input, h0: state.h, c0: state.c)`: goes on from a state that an earlier call returned
    /// (`RNNOutput.state`) or `zeroState(batch:)`.
    public func forward(_ input: Tensor, state: RNNState?, threads: Int? = nil) throws -> RNNOutput {
        try forward(input, h0: state?.h, c0: state?.c, threads: threads)
    }

    /// `forward(input)`: `rnn(x)`, as a module is called in PyTorch.
    public func callAsFunction(_ input: Tensor, state: RNNState? = nil) throws -> RNNOutput {
        try forward(input, state: state)
    }

    /// `forward`, with choices that only tests make (which kernels, the plan's limits).
    func forward(_ input: Tensor, h0: Tensor?, c0: Tensor?, lengths: [Int]?, threads: Int?, tuning: ForwardTuning) throws -> RNNOutput {
        let c = configuration
        let unbatched = input.shape.count == 2
        guard unbatched || input.shape.count == 3 else {
            throw RNNInputError.wrongShape(name: "input", expected: [nil, nil, c.inputSize], found: input.shape)
        }
        guard input.shape.last == c.inputSize else {
            throw RNNInputError.wrongShape(name: "input", expected: unbatched ? [nil, c.inputSize] : [nil, nil, c.inputSize], found: input.shape)
        }
        let batchFirst = c.batchFirst && !unbatched
        let steps = batchFirst ? input.shape[1] : input.shape[0]
        let batch = unbatched ? 1 : (batchFirst ? input.shape[0] : input.shape[1])
        guard steps > 0, batch > 0 else { throw RNNInputError.empty(name: "input", shape: input.shape) }
        let states = c.numLayers * c.directions
        let stateShape = unbatched ? [states, c.outputSize] : [states, batch, c.outputSize]
        let cellShape = unbatched ? [states, c.hiddenSize] : [states, batch, c.hiddenSize]
        if let h0, h0.shape != stateShape {
            throw RNNInputError.wrongShape(name: "h0", expected: stateShape, found: h0.shape)
        }
        if let c0 {
            guard c.mode == .lstm else { throw RNNInputError.noCellState }
            guard c0.shape == cellShape else { throw RNNInputError.wrongShape(name: "c0", expected: cellShape, found: c0.shape) }
        }
        if let lengths {
            guard !unbatched else { throw RNNInputError.lengthsNeedBatch }
            guard lengths.count == batch else { throw RNNInputError.lengthCount(found: lengths.count, batch: batch) }
            if let bad = lengths.firstIndex(where: { $0 < 1 || $0 > steps }) {
                throw RNNInputError.lengthOutOfRange(index: bad, length: lengths[bad], steps: steps)
            }
        }
        let threads = threads ?? ProcessInfo.processInfo.activeProcessorCount
        guard threads >= 1 else { throw RNNInputError.threadCount(threads) }
        let outputShape = unbatched ? [steps, c.directions * c.outputSize]
            : batchFirst ? [batch, steps, c.directions * c.outputSize] : [steps, batch, c.directions * c.outputSize]
        let call = ForwardCall(steps: steps, batch: batch, batchFirst: batchFirst, state: stateShape, cell: cellShape,
                               output: outputShape, threads: threads)
        // A reverse model is the forward one over each sequence read backwards, its outputs put back in place:
        // the same arithmetic, in the same order, as a bidirectional model's backward direction.
        let flip = { (tensor: Tensor) in c.reverse ? Self.reversedInTime(tensor, call, lengths: lengths) : tensor }
        var result: RNNOutput
        switch precision {
        case .float32: result = try run(weights: packedWeights.floatDirections(), flip(input), h0, c0, lengths, call, tuning: tuning)
        case .float64: result = try run(weights: packedWeights.doubleDirections(), flip(input), h0, c0, lengths, call, tuning: tuning)
        }
        if c.reverse { result = RNNOutput(output: flip(result.output), hN: result.hN, cN: result.cN) }
        return result
    }

    /// `tensor` (an input or output of `call`'s layout) with each sequence's first `length` steps in reverse order;
    /// the steps past its length stay where they are.
    static func reversedInTime(_ tensor: Tensor, _ call: ForwardCall, lengths: [Int]?) -> Tensor {
        var result = tensor
        let steps = call.steps, batch = call.batch
        let row = tensor.byteCount / (steps * batch)  // one step of one sequence
        tensor.withUnsafeBytes { source in
            result.withUnsafeMutableBytes { target in
                for sequence in 0..<batch {
                    let length = lengths?[sequence] ?? steps
                    for step in 0..<length {
                        let from = length - 1 - step
                        let (to, at) = call.batchFirst ? (sequence * steps + step, sequence * steps + from)
                            : (step * batch + sequence, from * batch + sequence)
                        (target.baseAddress! + to * row).copyMemory(from: source.baseAddress! + at * row, byteCount: row)
                    }
                }
            }
        }
        return result
    }

    /// A checked call's shapes and thread count.
    struct ForwardCall {
        let steps: Int, batch: Int, batchFirst: Bool
        let state: [Int], cell: [Int], output: [Int]
        let threads: Int
    }

    private func run<S: ForwardScalar>(
        weights: [[PackedDirection<S>]], _ input: Tensor, _ h0: Tensor?, _ c0: Tensor?, _ lengths: [Int]?, _ call: ForwardCall,
        tuning: ForwardTuning
    ) throws -> RNNOutput {
        let h = try h0.map { try values($0, name: "h0", as: S.self) }
        let cell = try c0.map { try values($0, name: "c0", as: S.self) }
        let isLSTM = configuration.mode == .lstm
        var output = try Tensor(zeros: S.dtype, shape: call.output)
        var hN = try Tensor(zeros: S.dtype, shape: call.state)
        var cN = try Tensor(zeros: S.dtype, shape: isLSTM ? call.cell : [0])
        var plan = ForwardPlan(configuration: configuration, steps: call.steps, batch: call.batch, batchFirst: call.batchFirst,
                               threads: call.threads, scalarBytes: MemoryLayout<S>.stride, limits: tuning.limits)
        var workspace = ForwardWorkspace<S>(plan: plan, configuration: configuration, zeroedOutputs: lengths != nil)
        if workspace == nil {  // no memory for the schedules: the same work on one thread, which needs none
            plan = ForwardPlan(configuration: configuration, steps: call.steps, batch: call.batch, batchFirst: call.batchFirst,
                               threads: 1, scalarBytes: MemoryLayout<S>.stride, limits: tuning.limits)
            workspace = ForwardWorkspace<S>(plan: plan, configuration: configuration, zeroedOutputs: lengths != nil)
        }
        let lengths32 = lengths.map { $0.map { Int32($0) } }
        try withValues(input, name: "input", as: S.self) { x in
            output.withUnsafeMutableBytes { output in
                hN.withUnsafeMutableBytes { hN in
                    cN.withUnsafeMutableBytes { cN in
                        let pointer = { (bytes: UnsafeMutableRawBufferPointer) in bytes.baseAddress!.bindMemory(to: S.self, capacity: bytes.count) }
                        h.withUnsafeBufferPointerIfPresent { h0 in
                            cell.withUnsafeBufferPointerIfPresent { c0 in
                                lengths32.withUnsafeBufferPointerIfPresent { lengths in
                                    let io = ForwardIO(input: x, h0: h0, c0: c0, lengths: lengths, output: pointer(output),
                                                       hN: pointer(hN), cN: isLSTM ? pointer(cN) : nil)
                                    let pass = ForwardPass(configuration: configuration, weights: weights, plan: plan,
                                                           workspace: workspace!, io: io, kernels: tuning.kernels,
                                                           staggerDirections: tuning.staggerDirections)
                                    teams.withTeam(workers: plan.threads - 1) { pass.run(team: $0) }
                                }
                            }
                        }
                    }
                }
            }
        }
        return RNNOutput(output: output, hN: hN, cN: isLSTM ? cN : nil)
    }

    /// Calls `body` with the tensor's values in the compute type: its own storage when the dtype already is that
    /// type, else a widened copy.
    func withValues<S: RNNScalar, R>(_ tensor: Tensor, name: String, as: S.Type, _ body: (UnsafePointer<S>) throws -> R) throws -> R {
        if tensor.dtype == S.dtype {
            return try tensor.withUnsafeBytes { try body($0.bindMemory(to: S.self).baseAddress!) }
        }
        let widened = try values(tensor, name: name, as: S.self)
        return try widened.withUnsafeBufferPointer { try body($0.baseAddress!) }
    }

    /// The tensor's values in the compute type: floating-point dtypes only, float64 only for a float64 model.
    func values<S: RNNScalar>(_ tensor: Tensor, name: String, as: S.Type) throws -> [S] {
        guard tensor.dtype.isFloatingPoint else {
            throw RNNInputError.wrongDType(name: name, expected: S.dtype, found: tensor.dtype)
        }
        if S.self == Float.self {
            guard tensor.dtype != .float64 else { throw RNNInputError.wrongDType(name: name, expected: .float32, found: .float64) }
            return try tensor.floatValues().map { S($0) }
        }
        return try tensor.doubleValues().map { S($0) }
    }
}

/// The forward pass's choices that only tests change.
struct ForwardTuning: Sendable {
    /// Which kernels run (rk_kernels in recurrent_kernels.h): −1, the best this CPU has.
    var kernels: Int32 = -1
    /// The sizes from which the plan shares work between threads, and its chunking.
    var limits = ForwardPlan.Limits()
    /// See `ForwardPass.staggerDirections`.
    var staggerDirections = false
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

extension RNN {
    /// The instruction set of the forward pass's kernels on this CPU: "avx512", "avx2" or "generic" (what
    /// `rnn-bench` reports beside its timings).
    package static var kernelInstructionSet: String { String(cString: rk_instruction_set()) }
}
