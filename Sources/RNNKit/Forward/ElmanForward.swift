/// The forward pass of a multi-layer, optionally bidirectional Elman RNN, as `torch.nn.RNN` computes it:
/// h_t = act((x_t · W_ih^T + b_ih) + (h_{t-1} · W_hh^T + b_hh)), the two sums formed separately as PyTorch does.
///
/// Works on time-major buffers: input [T, B, I], h0 [L·D, B, H]; returns output [T, B, D·H] and h_n [L·D, B, H].
/// Each layer first projects every time step's input at once, then runs the recurrence step by step.
struct ElmanForward<Scalar: RNNScalar> {
    let configuration: RNNConfiguration
    /// [layer][direction].
    let weights: [[DirectionWeights<Scalar>]]

    func run(input: [Scalar], steps: Int, batch: Int, h0: [Scalar]?) -> (output: [Scalar], hN: [Scalar]) {
        let hidden = configuration.hiddenSize, directions = configuration.directions
        let relu = configuration.nonlinearity == .relu
        var layerInput = input
        var hN = [Scalar](repeating: 0, count: configuration.numLayers * directions * batch * hidden)
        for layer in 0..<configuration.numLayers {
            let inputSize = configuration.layerInputSize(layer)
            let width = directions * hidden
            var layerOutput = [Scalar](repeating: 0, count: steps * batch * width)
            for direction in 0..<directions {
                let w = weights[layer][direction]
                let stateIndex = layer * directions + direction
                // Input projection for every step: (x · W_ih^T + b_ih), [T·B, H].
                var projected = [Scalar](repeating: 0, count: steps * batch * hidden)
                layerInput.withUnsafeBufferPointer { x in
                    w.inputWeights.withUnsafeBufferPointer { wih in
                        projected.withUnsafeMutableBufferPointer { out in
                            for row in 0..<(steps * batch) {
                                let xRow = x.baseAddress! + row * inputSize
                                for j in 0..<hidden {
                                    let wRow = wih.baseAddress! + j * inputSize
                                    var sum: Scalar = 0
                                    for k in 0..<inputSize { sum += xRow[k] * wRow[k] }
                                    out[row * hidden + j] = sum + w.inputBias[j]
                                }
                            }
                        }
                    }
                }
                var state = [Scalar](repeating: 0, count: batch * hidden)
                if let h0 {
                    let start = stateIndex * batch * hidden
                    state = Array(h0[start..<(start + batch * hidden)])
                }
                var next = state
                w.hiddenWeights.withUnsafeBufferPointer { whh in
                    for step in 0..<steps {
                        let t = direction == 0 ? step : steps - 1 - step
                        for b in 0..<batch {
                            for j in 0..<hidden {
                                let wRow = whh.baseAddress! + j * hidden
                                var sum: Scalar = 0
                                for k in 0..<hidden { sum += state[b * hidden + k] * wRow[k] }
                                let value = projected[(t * batch + b) * hidden + j] + (sum + w.hiddenBias[j])
                                let activated = relu ? max(value, 0) : Scalar.hyperbolicTangent(value)
                                next[b * hidden + j] = activated
                                layerOutput[(t * batch + b) * width + direction * hidden + j] = activated
                            }
                        }
                        swap(&state, &next)
                    }
                }
                let start = stateIndex * batch * hidden
                hN.replaceSubrange(start..<(start + batch * hidden), with: state)
            }
            layerInput = layerOutput
        }
        return (layerInput, hN)
    }
}
