import COpenBLAS
import CRecurrentKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The two OpenBLAS settings the forward pass makes, once, before its first GEMM.
enum BLAS {
    private static let configured: Void = {
        chooseKernels()
        // Single-threaded, for the whole process: the forward pass runs its own two threads (one direction each,
        // or half of the input projection's rows each) and calls OpenBLAS from both, so an OpenBLAS thread pool
        // would only oversubscribe the cores. A split that the forward pass chooses, the same whatever the thread
        // count, also keeps results bit-for-bit independent of how many threads run.
        openblas_set_num_threads(1)
        stopThreadPool()
    }()

    /// OpenBLAS's pthread build starts its thread pool when it loads, and each pool thread spins (with
    /// sched_yield) for about 2^28 cycles, ~0.1 s, before it sleeps. Single-threaded, OpenBLAS never uses it, but
    /// in the first tenth of a second of a process the spinning thread takes a core from the forward pass's
    /// second thread: a 3-layer B4 model timed right after start ran in 2.1 ms instead of 1.3. So the pool is
    /// stopped, through the function OpenBLAS itself calls before a fork (looked up with dlsym: other builds have
    /// no pool and no such function); were OpenBLAS asked for threads again, it would start a new pool.
    private static func stopThreadPool() {
        guard let shutdown = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "blas_thread_shutdown_") else { return }
        typealias Function = @convention(c) () -> Int32
        _ = unsafeBitCast(shutdown, to: Function.self)()
    }

    /// Applies the settings (once; cheap afterwards).
    static func prepare() { _ = configured }

    /// OpenBLAS's name for the kernels it runs (e.g. "SkylakeX", "Haswell", "Prescott").
    static var coreName: String {
        prepare()
        return openblas_get_corename().map { String(cString: $0) } ?? "?"
    }

    /// OpenBLAS builds that pick kernels at run time (DYNAMIC_ARCH, as Debian's) only know the CPUs of their day:
    /// Debian 12's 0.3.21 takes this machine's Xeon (family 6, model 207) for an unknown CPU and runs its Prescott
    /// (SSE3) kernels, which made the input projection 3–4 times slower than with its SkylakeX (AVX-512) kernels.
    /// So when the user has not chosen (OPENBLAS_CORETYPE unset) and OpenBLAS picked kernels without AVX2 on a CPU
    /// that has AVX-512 (or AVX2), this re-runs OpenBLAS's own selection with OPENBLAS_CORETYPE=SkylakeX (or
    /// Haswell), through the functions its dynamic builds export for that; they are looked up with dlsym, so that
    /// other builds still link and are left alone.
    private static func chooseKernels() {
        guard getenv("OPENBLAS_CORETYPE") == nil, let current = openblas_get_corename().map({ String(cString: $0) }) else { return }
        let modern: Set<String> = ["haswell", "zen", "excavator", "skylakex", "cooperlake", "sapphirerapids"]
        guard !modern.contains(current.lowercased()) else { return }
        let wanted: String
        switch String(cString: rk_instruction_set()) {
        case "avx512": wanted = "SkylakeX"
        case "avx2": wanted = "Haswell"
        default: return
        }
        let everywhere = UnsafeMutableRawPointer(bitPattern: 0)  // RTLD_DEFAULT
        guard let quit = dlsym(everywhere, "gotoblas_dynamic_quit"), let initialize = dlsym(everywhere, "gotoblas_dynamic_init") else {
            return
        }
        typealias Function = @convention(c) () -> Void
        setenv("OPENBLAS_CORETYPE", wanted, 1)
        unsafeBitCast(quit, to: Function.self)()
        unsafeBitCast(initialize, to: Function.self)()
        unsetenv("OPENBLAS_CORETYPE")
    }
}
