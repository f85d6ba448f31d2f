import CRecurrentKernels

extension ForwardPass {
    /// The layers of a unidirectional model as tasks that every thread takes from: P(l, c) projects chunk c of
    /// layer l, once layer l − 1 has run it and layer l has run chunk c − 2 (whose projection buffer it reuses);
    /// R(l, c) runs the chunk's steps, once P(l, c) and R(l, c − 1) are done. A thread takes the ready tasks of its
    /// own layers (l mod threads = thread) first, so that their weights stay in its cache, a run before a
    /// projection (the runs are the critical path), and helps with other layers when none of its own is ready.
    /// Who runs a task changes no bit of its result.
    func runPipeline(thread: Int) {
        let layers = configuration.numLayers, chunks = plan.chunkCount, threads = plan.threads
        let schedule = workspace.schedules[0]
        func task(_ layer: Int, _ chunk: Int, run: Bool) -> Int32 { Int32((layer * chunks + chunk) * 2 + (run ? 1 : 0)) }
        func done(_ layer: Int, _ chunk: Int, run: Bool) -> Bool { rk_schedule_finished(schedule, task(layer, chunk, run: run)) > 0 }
        func ready(_ layer: Int, _ chunk: Int, run: Bool) -> Bool {
            run ? done(layer, chunk, run: false) && (chunk == 0 || done(layer, chunk - 1, run: true))
                : (layer == 0 || done(layer - 1, chunk, run: true)) && (chunk < 2 || done(layer, chunk - 2, run: true))
        }
        // The layers in the order this thread looks at them: its own, then the others'.
        let order = (0..<layers).filter { $0 % threads == thread } + (0..<layers).filter { $0 % threads != thread }
        var next = [Int](repeating: 0, count: 2 * layers)  // per layer and kind: the first chunk not seen done
        var spins: Int32 = 0
        search: while true {
            var finished = true
            for layer in order {
                for kind in [1, 0] {  // its run, then its projection
                    let run = kind == 1, cursor = layer * 2 + kind
                    while next[cursor] < chunks && done(layer, next[cursor], run: run) { next[cursor] += 1 }
                    let first = next[cursor]
                    guard first < chunks else { continue }
                    finished = false
                    // While another thread projects chunk c, the projection of c + 1 may be ready too.
                    for chunk in first..<min(first + (run ? 1 : 2), chunks) where ready(layer, chunk, run: run) {
                        let id = task(layer, chunk, run: run)
                        guard rk_schedule_claim(schedule, id, 0) == 0 else { continue }
                        let buffer = layer * 2 + chunk % 2
                        if run {
                            recur(layer, 0, chunk, buffer: buffer, member: 0, schedule: nil)
                        } else {
                            let times = plan.chunk(chunk, direction: 0).times
                            for piece in 0..<plan.projectionPieces(times: times) {
                                project(layer, 0, rows: plan.projectionPiece(piece, times: times), times: times, buffer: buffer)
                            }
                        }
                        rk_schedule_finish(schedule, id)
                        spins = 0
                        continue search
                    }
                }
            }
            if finished { return }
            rk_backoff(&spins)
        }
    }
}
