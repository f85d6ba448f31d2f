extension ForwardPass {
    /// Unidirectional with large steps: every thread shares each step of each layer (and each chunk's projection).
    /// Each takes its own part of a step's unit blocks first (its weights stay in its cache), then helps with the
    /// others' parts. No barrier between layers: a shared run returns only when all of the layer is done.
    func runSharedSteps(thread: Int) {
        for layer in 0..<configuration.numLayers {
            runShared(layer, 0, member: thread, schedule: workspace.schedules[layer])
        }
    }
}
