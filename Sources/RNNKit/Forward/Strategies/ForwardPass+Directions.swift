import CRecurrentKernels

extension ForwardPass {
    /// Bidirectional: the even threads run the forward direction and the odd ones the backward, layer by layer
    /// (a layer's output is the next layer's input: all threads meet at a barrier between layers).
    ///
    /// Without `helping` (small steps), one thread per direction runs it alone. With `helping`, each group shares
    /// its direction's steps (`runShared`), then, if the other direction is not done, joins its group: on a shared
    /// machine one thread is often slowed for a while, and the others would otherwise wait for it.
    func runDirections(thread: Int, helping: Bool) {
        let direction = thread % 2, member = thread / 2
        for layer in 0..<configuration.numLayers {
            if helping {
                let own = workspace.schedules[layer * 2 + direction], other = workspace.schedules[layer * 2 + 1 - direction]
                let completion = workspace.completionPhase
                if direction == 1 && staggerDirections {
                    var spins: Int32 = 0
                    while rk_schedule_finished(other, completion) == 0 { rk_backoff(&spins) }
                }
                runShared(layer, direction, member: member, schedule: own)
                rk_schedule_finish(own, completion)
                if rk_schedule_finished(other, completion) == 0 {
                    runShared(layer, 1 - direction, member: member, schedule: other)
                }
            } else if thread < 2 {
                runAlone(layer, direction)
            }
            rk_barrier_wait(workspace.barrier)
        }
    }
}
