import CRecurrentKernels

/// Runs work on two threads at once: the caller's and one resident worker (recurrent_kernels.h, rk_parallel_run).
enum ParallelRunner {
    /// Calls `body(0)` on this thread and `body(1)` on the worker, and returns true when both have returned; returns
    /// false without calling anything when the worker is busy with another caller. `body` must only read shared
    /// state and write memory that the other thread does not touch.
    static func run(_ body: (Int) -> Void) -> Bool {
        withoutActuallyEscaping(body) { body in
            var task = body
            return withUnsafeMutablePointer(to: &task) { pointer in
                rk_parallel_run({ context, thread in
                    context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(thread))
                }, pointer) != 0
            }
        }
    }

    /// The instruction set the C kernels chose on this CPU ("avx512", "avx2" or "generic").
    static var instructionSet: String { String(cString: rk_instruction_set()) }
}
