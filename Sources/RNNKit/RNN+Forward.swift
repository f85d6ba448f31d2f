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
    /// float64 inputs to a float32 model are refused, as PyTorch refuses them. Throws `RNNLoadError.badInput`.
    public func forward(_ input: Tensor, h0: Tensor? = nil, c0: Tensor? = nil, lengths: [Int]? = nil) throws -> RNNOutput {
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
        switch precision {
        case .float32: return try run(weights: floatWeightsForForward, input, h0, c0, lengths, shapes)
        case .float64: return try run(weights: doubleWeightsForForward, input, h0, c0, lengths, shapes)
        }
    }

    private struct Shapes {
        let steps: Int, batch: Int, batchFirst: Bool
        let state: [Int], cell: [Int], output: [Int]
    }

    private func run<S: RNNScalar>(
        weights: [[DirectionWeights<S>]], _ input: Tensor, _ h0: Tensor?, _ c0: Tensor?, _ lengths: [Int]?, _ shapes: Shapes
    ) throws -> RNNOutput {
        let x = try values(input, name: "input", as: S.self)
        let h = try h0.map { try values($0, name: "h0", as: S.self) }
        let cell = try c0.map { try values($0, name: "c0", as: S.self) }
        let forward = RecurrentForward(configuration: configuration, weights: weights)
        let result = forward.run(input: shapes.batchFirst ? swapLeadingAxes(x, shapes.batch, shapes.steps) : x,
                                 steps: shapes.steps, batch: shapes.batch, h0: h, c0: cell, lengths: lengths)
        return RNNOutput(
            output: try Tensor(shape: shapes.output, elements: shapes.batchFirst ? swapLeadingAxes(result.output, shapes.steps, shapes.batch) : result.output),
            hN: try Tensor(shape: shapes.state, elements: result.hN),
            cN: configuration.mode == .lstm ? try Tensor(shape: shapes.cell, elements: result.cN) : nil)
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

    /// [A, B, rest…] → [B, A, rest…] for a flat buffer whose trailing block has `count / (a·b)` elements.
    private func swapLeadingAxes<S>(_ values: [S], _ a: Int, _ b: Int) -> [S] {
        let block = values.count / (a * b)
        var result = values
        for i in 0..<a {
            for j in 0..<b {
                let from = (i * b + j) * block, to = (j * a + i) * block
                result.replaceSubrange(to..<(to + block), with: values[from..<(from + block)])
            }
        }
        return result
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
