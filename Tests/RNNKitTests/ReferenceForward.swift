import Foundation
@testable import RNNKit

/// The slow, obvious forward pass that the fast one (Sources/RNNKit/Forward) is checked against: plain loops over
/// PyTorch's row-major weights, libm's tanh and exp, one multiply and one add at a time (aten/src/ATen/native/RNN.cpp):
///
/// - RNN:  h = act((x·W_ih^T + b_ih) + (h·W_hh^T + b_hh))
/// - LSTM: gates i, f, g, o of the same two sums; c = f⊙c + i⊙g; h = o⊙tanh(c), then h·W_hr^T with projections
/// - GRU:  r, z from the sums; n = tanh(ih_n + r⊙hh_n) (the reset gate scales the recurrent term with its bias);
///         h = (h − n)⊙z + n, PyTorch's form of (1 − z)⊙n + z⊙h; the reset-before GRU (`resetAfter` false)
///         has n = tanh(ih_n + ((r⊙h)·W_hn^T + b_hn))
///
/// Works on time-major buffers: input [T, B, I], h0 [L·D, B, S] (S = proj or hidden), c0 [L·D, B, H]; returns
/// output [T, B, D·S], h_n and c_n. With `lengths`, sequence b only runs its first lengths[b] steps: later outputs
/// are zero, its states stop at its own last step, and the backward direction starts from its own last step —
/// what `pack_padded_sequence` then `pad_packed_sequence` give in PyTorch.
struct ReferenceForward<Scalar: RNNScalar> {
    let configuration: RNNConfiguration
    /// [layer][direction].
    let weights: [[ReferenceWeights<Scalar>]]

    struct Result {
        var output: [Scalar]
        var hN: [Scalar]
        var cN: [Scalar]
    }

    func run(input: [Scalar], steps: Int, batch: Int, h0: [Scalar]?, c0: [Scalar]?, lengths: [Int]?) -> Result {
        let c = configuration
        let hidden = c.hiddenSize, state = c.outputSize, directions = c.directions
        let gates = c.mode.gateCount * hidden
        let lengths = lengths ?? [Int](repeating: steps, count: batch)
        var layerInput = input
        var hN = [Scalar](repeating: 0, count: c.numLayers * directions * batch * state)
        var cN = [Scalar](repeating: 0, count: c.mode == .lstm ? c.numLayers * directions * batch * hidden : 0)
        for layer in 0..<c.numLayers {
            let inputSize = c.layerInputSize(layer)
            let width = directions * state
            var layerOutput = [Scalar](repeating: 0, count: steps * batch * width)
            for direction in 0..<directions {
                let w = weights[layer][direction]
                let stateIndex = layer * directions + direction
                let projected = Self.project(layerInput, rows: steps * batch, inputSize: inputSize, weights: w.inputWeights,
                                             bias: w.inputBias, outputs: gates)
                var h = h0.map { Array($0[(stateIndex * batch * state)..<((stateIndex + 1) * batch * state)]) }
                    ?? [Scalar](repeating: 0, count: batch * state)
                var cell = c0.map { Array($0[(stateIndex * batch * hidden)..<((stateIndex + 1) * batch * hidden)]) }
                    ?? [Scalar](repeating: 0, count: c.mode == .lstm ? batch * hidden : 0)
                var recurrent = [Scalar](repeating: 0, count: gates)
                var full = [Scalar](repeating: 0, count: hidden)
                for step in 0..<steps {
                    let t = direction == 0 ? step : steps - 1 - step
                    for b in 0..<batch where t < lengths[b] {
                        // hh = h·W_hh^T + b_hh for every gate row.
                        for j in 0..<gates {
                            var sum: Scalar = 0
                            let row = j * state
                            for k in 0..<state { sum += h[b * state + k] * w.hiddenWeights[row + k] }
                            recurrent[j] = sum + w.hiddenBias[j]
                        }
                        let ih = (t * batch + b) * gates
                        let out = (t * batch + b) * width + direction * state
                        switch c.mode {
                        case .rnn:
                            for j in 0..<hidden {
                                let value = projected[ih + j] + recurrent[j]
                                let activated = c.nonlinearity == .relu ? max(value, 0) : Scalar.hyperbolicTangent(value)
                                h[b * hidden + j] = activated
                                layerOutput[out + j] = activated
                            }
                        case .lstm:
                            for j in 0..<hidden {
                                let i = sigmoid(recurrent[j] + projected[ih + j])
                                let f = sigmoid(recurrent[hidden + j] + projected[ih + hidden + j])
                                let g = Scalar.hyperbolicTangent(recurrent[2 * hidden + j] + projected[ih + 2 * hidden + j])
                                let o = sigmoid(recurrent[3 * hidden + j] + projected[ih + 3 * hidden + j])
                                let newCell = f * cell[b * hidden + j] + i * g
                                cell[b * hidden + j] = newCell
                                full[j] = o * Scalar.hyperbolicTangent(newCell)
                            }
                            if let projection = w.projectionWeights {
                                for p in 0..<state {
                                    var sum: Scalar = 0
                                    for k in 0..<hidden { sum += full[k] * projection[p * hidden + k] }
                                    h[b * state + p] = sum
                                }
                            } else {
                                for j in 0..<hidden { h[b * hidden + j] = full[j] }
                            }
                            for p in 0..<state { layerOutput[out + p] = h[b * state + p] }
                        case .gru where !c.resetAfter:
                            // The reset gate scales h before the candidate's product: (r⊙h)·W_hn^T + b_hn.
                            var reset = [Scalar](repeating: 0, count: hidden), update = reset
                            for j in 0..<hidden {
                                reset[j] = sigmoid(recurrent[j] + projected[ih + j]) * h[b * hidden + j]
                                update[j] = sigmoid(recurrent[hidden + j] + projected[ih + hidden + j])
                            }
                            for j in 0..<hidden {
                                var sum: Scalar = 0
                                let row = (2 * hidden + j) * state
                                for k in 0..<state { sum += reset[k] * w.hiddenWeights[row + k] }
                                let n = Scalar.hyperbolicTangent(projected[ih + 2 * hidden + j] + (sum + w.hiddenBias[2 * hidden + j]))
                                let value = (h[b * hidden + j] - n) * update[j] + n
                                h[b * hidden + j] = value
                                layerOutput[out + j] = value
                            }
                        case .gru:
                            for j in 0..<hidden {
                                let r = sigmoid(recurrent[j] + projected[ih + j])
                                let z = sigmoid(recurrent[hidden + j] + projected[ih + hidden + j])
                                let n = Scalar.hyperbolicTangent(projected[ih + 2 * hidden + j] + recurrent[2 * hidden + j] * r)
                                let value = (h[b * hidden + j] - n) * z + n
                                h[b * hidden + j] = value
                                layerOutput[out + j] = value
                            }
                        }
                    }
                }
                hN.replaceSubrange((stateIndex * batch * state)..<((stateIndex + 1) * batch * state), with: h)
                if c.mode == .lstm {
                    cN.replaceSubrange((stateIndex * batch * hidden)..<((stateIndex + 1) * batch * hidden), with: cell)
                }
            }
            layerInput = layerOutput
        }
        return Result(output: layerInput, hN: hN, cN: cN)
    }

    private func sigmoid(_ x: Scalar) -> Scalar { 1 / (1 + Scalar.exponential(-x)) }

    /// x·W^T + b for every row of x: [rows, inputSize] × [outputs, inputSize]^T → [rows, outputs].
    static func project(_ x: [Scalar], rows: Int, inputSize: Int, weights: [Scalar], bias: [Scalar], outputs: Int) -> [Scalar] {
        var result = [Scalar](repeating: 0, count: rows * outputs)
        x.withUnsafeBufferPointer { x in
            weights.withUnsafeBufferPointer { w in
                result.withUnsafeMutableBufferPointer { out in
                    for row in 0..<rows {
                        let xRow = x.baseAddress! + row * inputSize
                        for j in 0..<outputs {
                            let wRow = w.baseAddress! + j * inputSize
                            var sum: Scalar = 0
                            for k in 0..<inputSize { sum += xRow[k] * wRow[k] }
                            out[row * outputs + j] = sum + bias[j]
                        }
                    }
                }
            }
        }
        return result
    }
}

/// The weights of one direction of one layer, widened to the compute type, row-major as PyTorch stores them.
struct ReferenceWeights<Scalar: RNNScalar> {
    /// [G·hidden, input] row-major, G gates stacked in PyTorch's order.
    var inputWeights: [Scalar]
    /// [G·hidden, state] row-major (state = proj for a projected LSTM, else hidden).
    var hiddenWeights: [Scalar]
    /// [G·hidden], zeros without bias.
    var inputBias: [Scalar]
    /// [G·hidden], zeros without bias.
    var hiddenBias: [Scalar]
    /// LSTM with projections only: [proj, hidden] row-major (`weight_hr`).
    var projectionWeights: [Scalar]?
}

extension RNN {
    /// What the reference computes for `forward(input, h0:, c0:, lengths:)`: same shapes, same dtype.
    func referenceForward(_ input: Tensor, h0: Tensor? = nil, c0: Tensor? = nil, lengths: [Int]? = nil) throws -> RNNOutput {
        switch precision {
        case .float32: try referenceRun(Float.self, input, h0, c0, lengths)
        case .float64: try referenceRun(Double.self, input, h0, c0, lengths)
        }
    }

    private func referenceRun<S: RNNScalar>(_: S.Type, _ input: Tensor, _ h0: Tensor?, _ c0: Tensor?, _ lengths: [Int]?) throws -> RNNOutput {
        let c = configuration
        let unbatched = input.shape.count == 2
        let batchFirst = c.batchFirst && !unbatched
        let steps = batchFirst ? input.shape[1] : input.shape[0]
        let batch = unbatched ? 1 : (batchFirst ? input.shape[0] : input.shape[1])
        let values = { (tensor: Tensor) throws -> [S] in
            S.self == Float.self ? try tensor.floatValues().map { S($0) } : try tensor.doubleValues().map { S($0) }
        }
        let zeros = [S](repeating: 0, count: c.mode.gateCount * c.hiddenSize)
        let weights = try (0..<c.numLayers).map { layer in
            try (0..<c.directions).map { direction in
                let suffix = isCell ? "" : "_l\(layer)" + (direction == 1 ? "_reverse" : "")
                return ReferenceWeights(
                    inputWeights: try values(tensors["weight_ih" + suffix]!),
                    hiddenWeights: try values(tensors["weight_hh" + suffix]!),
                    inputBias: try tensors["bias_ih" + suffix].map(values) ?? zeros,
                    hiddenBias: try tensors["bias_hh" + suffix].map(values) ?? zeros,
                    projectionWeights: try tensors["weight_hr" + suffix].map(values))
            }
        }
        let x = try values(input)
        let result = ReferenceForward(configuration: c, weights: weights).run(
            input: batchFirst ? swapLeadingAxes(x, batch, steps) : x, steps: steps, batch: batch,
            h0: try h0.map(values), c0: try c0.map(values), lengths: lengths)
        let states = c.numLayers * c.directions
        let width = c.directions * c.outputSize
        return RNNOutput(
            output: try Tensor(shape: unbatched ? [steps, width] : batchFirst ? [batch, steps, width] : [steps, batch, width],
                               elements: batchFirst ? swapLeadingAxes(result.output, steps, batch) : result.output),
            hN: try Tensor(shape: unbatched ? [states, c.outputSize] : [states, batch, c.outputSize], elements: result.hN),
            cN: c.mode == .lstm
                ? try Tensor(shape: unbatched ? [states, c.hiddenSize] : [states, batch, c.hiddenSize], elements: result.cN) : nil)
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
