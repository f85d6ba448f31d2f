extension ForwardPass {
    /// The steps of chunk `chunk` of one direction of one layer of a reset-before GRU, on this thread.
    ///
    /// Its candidate multiplies r ⊙ h, which needs the whole of r, so each step is two products (rk_project, the
    /// input projection's kernels) with the gates computed between them:
    ///   r, z = σ((x·W_i{r,z}^T + b_i{r,z}) + (h·W_h{r,z}^T + b_h{r,z}))
    ///   n = tanh((x·W_in^T + b_in) + ((r ⊙ h)·W_hn^T + b_hn)),  h' = (h − n) ⊙ z + n
    /// The same operations in the same order for any plan, chunking or stream: the same bits.
    func recurResetBefore(_ layer: Int, _ direction: Int, _ chunk: Int, buffer: Int) {
        let c = configuration, batch = plan.batch, hidden = c.hiddenSize
        let index = layer * c.directions + direction, lane = workspace.lanes[index]
        guard let scratch = lane.resetBefore, let w = weights[layer][direction].resetBefore else { return }
        let (range, times) = plan.chunk(chunk, direction: direction)
        let gateWidth = 3 * hidden, width = c.directions * hidden
        let timeRows = plan.batchFirst ? 1 : batch, batchRows = plan.batchFirst ? plan.steps : 1
        let firstTime = plan.batchFirst ? 0 : times.lowerBound
        let projection = UnsafePointer(workspace.projections[buffer].pointer)
        let output = layerOutput(layer) + direction * hidden
        let inputBias = w.inputBias.pointer, recurrentBias = w.recurrentBias.pointer
        let sums = scratch.sums.pointer, reset = scratch.reset.pointer
        let candidate = scratch.candidate.pointer, update = scratch.update.pointer
        var current = range.lowerBound % 2 == 0 ? lane.a.pointer : lane.b.pointer
        var next = range.lowerBound % 2 == 0 ? lane.b.pointer : lane.a.pointer
        for step in range {
            let t = direction == 1 ? plan.steps - 1 - step : step
            Scalar.project(x: current, ldx: hidden, rows: batch, columns: hidden, weights: w.gates.pointer,
                           units: 2 * hidden, out: sums, ldout: 2 * hidden, kernels: kernels)
            for b in 0..<batch {
                let x = projection + (t - firstTime) * timeRows * gateWidth + b * batchRows * gateWidth
                let row = sums + b * 2 * hidden
                for u in 0..<hidden {
                    let r = Self.sigmoid((x[u] + inputBias[u]) + (row[u] + recurrentBias[u]))
                    let z = Self.sigmoid((x[hidden + u] + inputBias[hidden + u]) + (row[hidden + u] + recurrentBias[hidden + u]))
                    reset[b * hidden + u] = r * current[b * hidden + u]
                    update[b * hidden + u] = z
                }
            }
            Scalar.project(x: reset, ldx: hidden, rows: batch, columns: hidden, weights: w.candidate.pointer,
                           units: hidden, out: candidate, ldout: hidden, kernels: kernels)
            for b in 0..<batch {
                let previous = current + b * hidden, state = next + b * hidden
                if let lengths = io.lengths, t >= Int(lengths[b]) {  // finished: carry the state over, output stays 0
                    state.update(from: previous, count: hidden)
                    continue
                }
                let x = projection + (t - firstTime) * timeRows * gateWidth + b * batchRows * gateWidth + 2 * hidden
                let out = output + t * timeRows * width + b * batchRows * width
                for u in 0..<hidden {
                    let n = Scalar.hyperbolicTangent(
                        (x[u] + inputBias[2 * hidden + u]) + (candidate[b * hidden + u] + recurrentBias[2 * hidden + u]))
                    let h = (previous[u] - n) * update[b * hidden + u] + n
                    state[u] = h
                    out[u] = h
                }
            }
            swap(&current, &next)
        }
        if range.upperBound == plan.steps {
            (io.hN + index * batch * hidden).update(from: current, count: batch * hidden)
        }
    }

    private static func sigmoid(_ x: Scalar) -> Scalar { 1 / (1 + Scalar.exponential(-x)) }
}
