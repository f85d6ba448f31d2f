/// What a forward pass returns, as PyTorch's `output, h_n = rnn(input, h0)`.
public struct RNNOutput: Sendable {
    /// [T, B, D·H] ([B, T, D·H] batch-first; [T, D·H] unbatched): the last layer's states, forward then backward half.
    public var output: Tensor
    /// [L·D, B, H] ([L·D, H] unbatched): each layer's final state, layer by layer, forward before backward.
    public var hN: Tensor
}

extension RNN {
    /// Runs the RNN over `input` from `h0` (zeros when nil), exactly as `torch.nn.RNN.forward`.
    ///
    /// `input` is [T, B, I] ([B, T, I] when the configuration is batch-first) or unbatched [T, I]; `h0` is
    /// [L·D, B, H] (or [L·D, H] unbatched). Float inputs are widened exactly to the compute precision; float64
    /// inputs to a float32 model are refused, as PyTorch refuses them. Throws `RNNLoadError.badInput`.
    public func forward(_ input: Tensor, h0: Tensor? = nil) throws -> RNNOutput {
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
        let stateShape = unbatched ? [c.numLayers * c.directions, c.hiddenSize] : [c.numLayers * c.directions, batch, c.hiddenSize]
        if let h0, h0.shape != stateShape {
            throw RNNLoadError.badInput(name: "h0", detail: "shape \(h0.shape); expected \(stateShape)")
        }
        let outputShape = unbatched ? [steps, c.directions * c.hiddenSize]
            : batchFirst ? [batch, steps, c.directions * c.hiddenSize] : [steps, batch, c.directions * c.hiddenSize]

        switch precision {
        case .float32:
            return try run(Float.self, weights: floatWeightsForForward, input, h0, steps, batch, batchFirst, outputShape, stateShape)
        case .float64:
            return try run(Double.self, weights: doubleWeightsForForward, input, h0, steps, batch, batchFirst, outputShape, stateShape)
        }
    }

    private func run<S: RNNScalar>(
        _: S.Type, weights: [[DirectionWeights<S>]], _ input: Tensor, _ h0: Tensor?, _ steps: Int, _ batch: Int,
        _ batchFirst: Bool, _ outputShape: [Int], _ stateShape: [Int]
    ) throws -> RNNOutput {
        let x = try values(input, name: "input", as: S.self)
        let h = try h0.map { try values($0, name: "h0", as: S.self) }
        let forward = ElmanForward(configuration: configuration, weights: weights)
        let result = forward.run(input: batchFirst ? swapLeadingAxes(x, batch, steps) : x, steps: steps, batch: batch, h0: h)
        return RNNOutput(
            output: try Tensor(shape: outputShape, elements: batchFirst ? swapLeadingAxes(result.output, steps, batch) : result.output),
            hN: try Tensor(shape: stateShape, elements: result.hN))
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
