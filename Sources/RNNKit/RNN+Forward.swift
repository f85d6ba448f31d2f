import Foundation

/// What a forward pass returns, as PyTorch's `output, h_n = rnn(input, h0)` (LSTM: `output, (h_n, c_n)`).
public struct RNNOutput: Sendable {
    /// [T, B, D·S] ([B, T, D·S] batch-first; [T, D·S] unbatched), S = proj_size or hidden: the last layer's
    /// states, forward half then backward half; zeros past each sequence's length.
    public var output: Tensor
    /// [L·D, B, S] ([L·D, S] unbatched): each layer's final state, layer by layer, forward before backward.
    public var hN: Tensor
    /// LSTM only: [L·D, B, H] ([L·D, H] unbatched), the final cell states; nil for RNN and GRU.
    public var cN: Tensor?
}

extension RNN {
    /// Runs the model over `input`, exactly as the PyTorch module's `forward`.
    ///
    /// `input` is [T, B, I] ([B, T, I] when batch-first) or unbatched [T, I]; `h0` is [L·D, B, S] and, for an
    /// LSTM, `c0` is [L·D, B, H] (without the B axis when unbatched); both default to zeros. `lengths` (one per
    /// batch element, 1…T) gives what `pack_padded_sequence(enforce_sorted=False)` → module →
    /// `pad_packed_sequence(total_length: T)` gives. Float inputs are widened exactly to the compute precision;
    /// float64 inputs to a float32 model are refused, as PyTorch refuses them. `threads` (1 or 2; by default 2 when
    /// the machine has two cores) never changes the result, only the time. Throws `RNNLoadError.badInput`.
    public func forward(_ input: Tensor, h0: Tensor? = nil, c0: Tensor? = nil, lengths: [Int]? = nil, threads: Int? = nil) throws -> RNNOutput {
        try forward(input, h0: h0, c0: c0, lengths: lengths, threads: threads, tuning: ForwardTuning())
    }

    /// `forward`, with choices that only tests make (which kernels, how many steps to project at a time).
    func forward(_ input: Tensor, h0: Tensor?, c0: Tensor?, lengths: [Int]?, threads: Int?, tuning: ForwardTuning) throws -> RNNOutput {
        let c = configuration
        let unbatched = input.shape.count == 2
        guard unbatched || input.shape.count == 3 else {
            throw RNNLoadError.badInput(name: "input", detail: "rank \(input.shape.count); expected 3 ([T, B, I]) or 2 (unbatched [T, I])")
        }
        let batchFirst = c.batchFirst && !unbatched
        let steps = batchFirst ? input.shape[1] : input.shape[0]
        let batch = unbatched ? 1 : (batchFirst ? input.shape[0] : input.shape[1])
        guard input.shape.last == c.inputSize else {
            throw RNNLoadError.badInput(name: "input", detail: "shape \(input.shape) has \(input.shape.last ?? 0) features; the model takes \(c.inputSize)")
        }
        guard steps > 0, batch > 0 else {
            throw RNNLoadError.badInput(name: "input", detail: "shape \(input.shape) has no time steps or no batch elements")
        }
        let states = c.numLayers * c.directions
        let stateShape = unbatched ? [states, c.outputSize] : [states, batch, c.outputSize]
        let cellShape = unbatched ? [states, c.hiddenSize] : [states, batch, c.hiddenSize]
        if let h0, h0.shape != stateShape {
            throw RNNLoadError.badInput(name: "h0", detail: "shape \(h0.shape); expected \(stateShape)")
        }
        if let c0 {
            guard c.mode == .lstm else { throw RNNLoadError.badInput(name: "c0", detail: "only an LSTM has a cell state") }
            guard c0.shape == cellShape else { throw RNNLoadError.badInput(name: "c0", detail: "shape \(c0.shape); expected \(cellShape)") }
        }
        if let lengths {
            guard !unbatched else { throw RNNLoadError.badInput(name: "lengths", detail: "lengths need a batched input") }
            guard lengths.count == batch else {
                throw RNNLoadError.badInput(name: "lengths", detail: "\(lengths.count) lengths for a batch of \(batch)")
            }
            if let bad = lengths.firstIndex(where: { $0 < 1 || $0 > steps }) {
                throw RNNLoadError.badInput(name: "lengths", detail: "length \(lengths[bad]) of batch element \(bad) is outside 1…\(steps)")
            }
        }
        let shapes = Shapes(steps: steps, batch: batch, batchFirst: batchFirst, state: stateShape, cell: cellShape,
                            output: unbatched ? [steps, c.directions * c.outputSize]
                                : batchFirst ? [batch, steps, c.directions * c.outputSize] : [steps, batch, c.directions * c.outputSize])
        let threads = min(max(threads ?? ProcessInfo.processInfo.activeProcessorCount, 1), 2)
        switch precision {
        case .float32: return try run(weights: packedWeights.floatDirections(), input, h0, c0, lengths, shapes, threads: threads, tuning: tuning)
        case .float64: return try run(weights: packedWeights.doubleDirections(), input, h0, c0, lengths, shapes, threads: threads, tuning: tuning)
        }
    }

    private struct Shapes {
        let steps: Int, batch: Int, batchFirst: Bool
        let state: [Int], cell: [Int], output: [Int]
    }

    private func run<S: ForwardScalar>(
        weights: [[PackedDirection<S>]], _ input: Tensor, _ h0: Tensor?, _ c0: Tensor?, _ lengths: [Int]?, _ shapes: Shapes,
        threads: Int, tuning: ForwardTuning
    ) throws -> RNNOutput {
        let h = try h0.map { try values($0, name: "h0", as: S.self) }
        let cell = try c0.map { try values($0, name: "c0", as: S.self) }
        let isLSTM = configuration.mode == .lstm
        var output = try Tensor(zeros: S.dtype, shape: shapes.output)
        var hN = try Tensor(zeros: S.dtype, shape: shapes.state)
        var cN = try Tensor(zeros: S.dtype, shape: isLSTM ? shapes.cell : [0])
        let forward = RecurrentForward(configuration: configuration, weights: weights, tuning: tuning)
        try withValues(input, name: "input", as: S.self) { x in
            output.withUnsafeMutableBytes { output in
                hN.withUnsafeMutableBytes { hN in
                    cN.withUnsafeMutableBytes { cN in
                        let pointer = { (bytes: UnsafeMutableRawBufferPointer) in bytes.baseAddress!.bindMemory(to: S.self, capacity: bytes.count) }
                        h.withUnsafeBufferPointerIfPresent { h0 in
                            cell.withUnsafeBufferPointerIfPresent { c0 in
                                forward.run(input: x, steps: shapes.steps, batch: shapes.batch, batchFirst: shapes.batchFirst,
                                            h0: h0, c0: c0, lengths: lengths, output: pointer(output), hN: pointer(hN),
                                            cN: isLSTM ? pointer(cN) : nil, threads: threads)
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
    private func withValues<S: RNNScalar, R>(_ tensor: Tensor, name: String, as: S.Type, _ body: (UnsafePointer<S>) throws -> R) throws -> R {
        if tensor.dtype == S.dtype {
            return try tensor.withUnsafeBytes { try body($0.bindMemory(to: S.self).baseAddress!) }
        }
        let widened = try values(tensor, name: name, as: S.self)
        return try widened.withUnsafeBufferPointer { try body($0.baseAddress!) }
    }

    private func values<S: RNNScalar>(_ tensor: Tensor, name: String, as: S.Type) throws -> [S] {
        guard tensor.dtype.isFloatingPoint else {
            throw RNNLoadError.badInput(name: name, detail: "dtype \(tensor.dtype); expected a floating-point tensor")
        }
        if S.self == Float.self {
            guard tensor.dtype != .float64 else {
                throw RNNLoadError.badInput(name: name, detail: "float64, but the model computes in float32 (convert the input, or load with float64 precision)")
            }
            return try tensor.floatValues().map { S($0) }
        }
        return try tensor.doubleValues().map { S($0) }
    }
}

extension Tensor {
    /// The values of an integer tensor as `Int`s (sequence lengths, say); nil for other dtypes or out-of-range values.
    public func integerValues() -> [Int]? {
        func convert<T: BinaryInteger & TensorElement>(_: T.Type) -> [Int]? {
            guard let values = try? elements(as: T.self) else { return nil }
            var result: [Int] = []
            for value in values {
                guard let int = Int(exactly: value) else { return nil }
                result.append(int)
            }
            return result
        }
        return switch dtype {
        case .int8: convert(Int8.self)
        case .int16: convert(Int16.self)
        case .int32: convert(Int32.self)
        case .int64: convert(Int64.self)
        case .uint8: convert(UInt8.self)
        case .uint16: convert(UInt16.self)
        case .uint32: convert(UInt32.self)
        case .uint64: convert(UInt64.self)
        default: nil
        }
    }
}

extension RNN {
    /// The instruction set the forward pass's kernels use on this CPU: "avx512", "avx2" or "generic".
    public static var kernelInstructionSet: String { ParallelRunner.instructionSet }

    /// The kernels OpenBLAS runs for the forward pass's input projection (its name for them, e.g. "SkylakeX").
    public static var blasCoreName: String { BLAS.coreName }
}
