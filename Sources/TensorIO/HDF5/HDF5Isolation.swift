import Foundation
import OrderedCollections
import CPlatform
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Reading HDF5 in a child process, so that a file that crashes or hangs libhdf5 cannot take the caller down.
///
/// libhdf5 1.10 crashes (segfault, abort, SIGFPE) or loops on public CVE reproducers, and a process cannot catch
/// that. `HDF5Format.readIsolated` runs the reader in a worker process: the program itself started again in a
/// hidden worker mode (every rnn-* command serves as its own worker, so nothing needs to sit beside it), or
/// the executable `RNN_HDF5_WORKER` names. The worker gets the input file already opened and checked by this
/// process (descriptor 3) and an anonymous memory file for its result (descriptor 4, `memfd_create`): it
/// opens no path, and its result has no name that could outlive the caller. It asks the kernel to kill it when
/// its parent dies (`PR_SET_PDEATHSIG`), shares the caller's process group (Ctrl-C reaches both), and runs under
/// a CPU-time and an address-space limit; a wall-clock limit, ten times the CPU time, only stops a worker that
/// sleeps. A loaded machine therefore slows a valid file down but never makes it "hostile".
///
/// The worker only looks at the file where it can: a dataset whose bytes lie in the file exactly as the tensor
/// wants them (contiguous, allocated, native byte order: what h5py and we write) is reported by its offset, and
/// this process reads it itself, straight into fresh memory, after checking the range against the file. Other
/// datasets (chunked, compressed, converted) the worker reads with libhdf5 into the memory file, which this
/// process maps: those tensors borrow the mapping. A crash, a limit or a malformed result becomes a
/// `TensorFileError` naming the file.
public struct HDF5IsolationLimits: Sendable, Equatable {
    /// CPU seconds the worker may use before the kernel stops it (`RLIMIT_CPU`, whole seconds, at least 1).
    public var seconds: Double
    /// Wall-clock seconds before the worker is killed even if it uses no CPU; nil: 10 × `seconds` + 10.
    public var wallClockSeconds: Double?
    /// Address-space limit of the worker in bytes; nil: 2 GiB plus 8 × the file's size.
    public var memoryBytes: Int?

    /// Limits: by default 15 CPU seconds plus 1 s per 50 MB of file (a hostile file is stopped well within
    /// 20 s; a real model reads at several hundred MB/s), and the wall-clock and memory rules above.
    public init(seconds: Double? = nil, wallClockSeconds: Double? = nil, memoryBytes: Int? = nil, fileSize: Int = 0) {
        self.seconds = seconds ?? 15 + Double(fileSize) / 50_000_000
        self.wallClockSeconds = wallClockSeconds
        self.memoryBytes = memoryBytes
    }
}

/// The worker mode of a program that reads HDF5 in isolation.
///
/// The rnn-* commands call `serveIfRequested()` first thing, so each of them is its own worker. A program of
/// yours that wants `HDF5Format.readIsolated` (or `TensorFile.read(contentsOf:isolatingHDF5: true)`) does the
/// same at the top of its `main`, or sets `RNN_HDF5_WORKER` to any program that does (an installed
/// `rnn-inspect`, say). Reading in process, the library's default, needs neither.
public enum HDF5Isolation {
    /// The hidden first argument that starts a program as the worker.
    static let workerArgument = "--rnn-hdf5-worker-protocol-2"
    /// The environment variable naming the worker executable; it takes precedence over the program itself.
    public static let workerEnvironmentKey = "RNN_HDF5_WORKER"

    private static let serving = Mutex(false)
    /// The workers running now, so that an interrupted program can stop them at once.
    private static let running = Mutex<Set<pid_t>>([])

    static func started(_ pid: pid_t) { running.withLock { _ = $0.insert(pid) } }
    static func ended(_ pid: pid_t) { running.withLock { _ = $0.remove(pid) } }

    /// Kills every worker still running (the commands call it on SIGINT and SIGTERM; a worker would also die
    /// with its parent, a moment later).
    package static func stopWorkers() {
        running.withLock { pids in for pid in pids { kill(pid, SIGKILL) } }
    }
    private static let configuredWorker = Mutex<URL?>(nil)

    /// The worker to use when `RNN_HDF5_WORKER` is not set (nil: this program, if it serves). For programs that
    /// cannot call `serveIfRequested()` first, such as test runners.
    public static var defaultWorker: URL? {
        get { configuredWorker.withLock { $0 } }
        set { configuredWorker.withLock { $0 = newValue } }
    }

    /// If this process was started as an HDF5 worker, does the work and exits; otherwise records that this
    /// program can be its own worker and returns at once. Call it before anything else in `main`.
    public static func serveIfRequested() {
        let arguments = FileSystemPath.arguments
        if arguments.first == workerArgument { exit(HDF5Worker.main(Array(arguments.dropFirst()))) }
        serving.withLock { $0 = true }
    }

    /// The worker: `explicit`, else `RNN_HDF5_WORKER`, else `defaultWorker`, else this program when it called
    /// `serveIfRequested()`.
    static func workerExecutable(
        _ explicit: URL?, path: String, environment: [String: String] = ProcessInfo.processInfo.environment,
        configured: URL? = defaultWorker, serves: Bool = serving.withLock({ $0 })
    ) throws -> String {
        if let explicit { return explicit.filePath }
        if let named = environment[workerEnvironmentKey], !named.isEmpty { return named }
        if let configured { return configured.filePath }
        if serves { return "/proc/self/exe" }
        throw TensorFileError(path: path, problem: .io(
            "cannot read HDF5 in isolation: this program is not an HDF5 worker (call HDF5Isolation.serveIfRequested() at the start of main, or set \(workerEnvironmentKey) to an rnn-* command)"))
    }
}

extension HDF5Format {
    /// Reads the HDF5 file at `url` in a worker process (see `HDF5IsolationLimits` and `HDF5Isolation`); the
    /// result is the same as `read(contentsOf:)`'s, or a `TensorFileError` when libhdf5 crashes, hangs or runs
    /// out of memory. `worker` names the worker executable; by default `HDF5Isolation` says which.
    public static func readIsolated(contentsOf url: URL, limits: HDF5IsolationLimits? = nil, worker: URL? = nil) throws -> StateDict {
        try readIsolated(InputFile(path: url.filePath), limits: limits, worker: worker)
    }

    /// `readIsolated(contentsOf:)` for an open file (a path's, or bytes held in memory): the worker gets its
    /// descriptor, never a path.
    static func readIsolated(_ input: InputFile, limits: HDF5IsolationLimits? = nil, worker: URL? = nil) throws -> StateDict {
        let path = input.path
        let limits = limits ?? HDF5IsolationLimits(fileSize: input.size)
        let executable = try HDF5Isolation.workerExecutable(worker, path: path)
        let memory = limits.memoryBytes ?? (2 << 30) + 8 * input.size
        let cpuSeconds = max(1, Int(limits.seconds.rounded(.up)))
        let wallClock = limits.wallClockSeconds ?? 10 * Double(cpuSeconds) + 10

        let result = rnn_memory_file("rnn-hdf5-result")
        guard result >= 0 else { throw TensorFileError(path: path, problem: .io(systemMessage("cannot create the HDF5 worker's result"))) }
        defer { close(result) }
        var pipeEnds: [Int32] = [0, 0]
        guard rnn_pipe(&pipeEnds) == 0 else { throw TensorFileError(path: path, problem: .io(systemMessage("cannot start the HDF5 worker"))) }
        let arguments = [executable, HDF5Isolation.workerArgument, String(getpid()), String(memory), String(cpuSeconds)]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { argument in FileSystemPath.withCString(argument) { strdup($0) } }
        argv.append(nil)
        defer { for pointer in argv { free(pointer) } }
        let pid = rnn_spawn_worker(&argv, input.descriptor, result, pipeEnds[1])
        close(pipeEnds[1])
        if pid > 0 { HDF5Isolation.started(pid) }
        defer { if pid > 0 { HDF5Isolation.ended(pid) } }
        guard pid > 0 else {
            close(pipeEnds[0])
            throw TensorFileError(path: path, problem: .io(systemMessage("cannot start the HDF5 worker \(executable)")))
        }
        let (report, timedOut) = readReport(pipeEnds[0], until: wallClock)
        close(pipeEnds[0])
        if timedOut { kill(pid, SIGKILL) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if timedOut {
            throw TensorFileError(path: path, problem: .hdf5(
                "libhdf5 did not finish within \(Int(wallClock)) s without using its CPU time and was stopped (the file is malformed or hostile)"))
        }
        let exited = status & 0x7F == 0, exitStatus = (status >> 8) & 0xFF, signal = status & 0x7F
        if exited && exitStatus == 0 { return try mapResult(result, input: input) }
        if exited && exitStatus == 2, var error = try? JSONDecoder().decode(TensorFileError.self, from: report) {
            error.path = path
            throw error
        }
        if !exited && [SIGINT, SIGTERM, SIGHUP].contains(signal) {
            // Ctrl-C reached the worker's process group, so it reached this process too.
            throw TensorFileError(path: path, problem: .interrupted(signal: signal))
        }
        if !exited {
            let reason = signal == SIGKILL || signal == SIGXCPU ? "ran out of its time or memory limit" : "crashed (signal \(signal))"
            throw TensorFileError(path: path, problem: .hdf5("libhdf5 \(reason) reading this file (it is malformed or hostile)"))
        }
        throw TensorFileError(path: path, problem: .hdf5(
            "the HDF5 worker failed (exit status \(exitStatus)); the file may be malformed or too large for the memory limit"))
    }

    /// Everything the worker writes on its standard output (at most 1 MiB is kept), until it closes it or
    /// `seconds` have passed; `timedOut` tells which.
    private static func readReport(_ descriptor: Int32, until seconds: Double) -> (Data, timedOut: Bool) {
        var report = Data()
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < deadline else { return (report, true) }
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min((deadline - now) / 1_000_000 + 1, 60_000)))
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { continue }
            let count = Glibc.read(descriptor, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return (report, false) }
            if report.count < 1 << 20 { report.append(contentsOf: buffer.prefix(count)) }
        }
    }

    /// The tensors the worker reported: read here from `input` where the worker located them, else borrowing
    /// one private mapping of the result file.
    ///
    /// The worker is not trusted (libhdf5 ran on a possibly hostile file in it): every range must lie inside
    /// the result mapping or inside `input` as this process sees it, and each tensor must be in exactly one of
    /// them, else the result is refused as malformed. A file that changes after the worker looked is like one
    /// that changes during any read: the ranges are still checked against its size here, and a short read is
    /// a `truncated` error.
    static func mapResult(_ fd: Int32, input: InputFile) throws -> StateDict {
        let path = input.path
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw TensorFileError(path: path, problem: .io(systemMessage("cannot stat the worker's result"))) }
        let size = Int(info.st_size)
        let fail = TensorFileError(path: path, problem: .hdf5("the HDF5 worker's result is malformed"))
        guard size >= 8, let region = MappedRegion(descriptor: fd, length: size) else { throw fail }
        var headerLength = 0
        for i in 0..<8 { headerLength |= Int(region.base.load(fromByteOffset: i, as: UInt8.self)) << (8 * i) }
        guard headerLength > 0, headerLength <= size - 8 else { throw fail }
        let header = Data(bytes: region.base + 8, count: headerLength)
        guard let result = try? JSONDecoder().decode(HDF5WorkerResult.self, from: header) else { throw fail }
        var dict = StateDict()
        for entry in result.tensors {
            guard let dtype = DType(rawValue: entry.dtype), let count = Tensor.byteCount(of: entry.shape, dtype: dtype)
            else { throw fail }
            let tensor: Tensor
            switch (entry.offset, entry.fileOffset) {
            case (let offset?, nil):
                guard offset >= 8 + headerLength, offset <= size, count <= size - offset else { throw fail }
                let storage = count == 0 ? TensorStorage(byteCount: 0) : TensorStorage(region: region, offset: offset, count: count)
                tensor = Tensor(dtype: dtype, shape: entry.shape, storage: storage)
            case (nil, let offset?):
                // Bool values must be checked, which only the worker's read does; it never locates them.
                guard dtype != .bool, count > 0, offset >= 0, offset <= input.size, count <= input.size - offset
                else { throw fail }
                tensor = try readLocated(dtype: dtype, shape: entry.shape, at: offset, from: input)
            default:
                throw fail
            }
            guard dict.tensors.updateValue(tensor, forKey: entry.name) == nil else { throw fail }
        }
        for pair in result.metadata where pair.count == 2 { dict.metadata[pair[0]] = pair[1] }
        return dict
    }
}

/// The header of the worker's result file: where each tensor's bytes are, and the metadata.
struct HDF5WorkerResult: Codable {
    /// One tensor: its bytes are at `offset` in the result file, or at `fileOffset` in the HDF5 file itself.
    struct Entry: Codable {
        var name: String
        var dtype: String
        var shape: [Int]
        var offset: Int?
        var fileOffset: Int?
    }
    var tensors: [Entry]
    var metadata: [[String]]
}

/// The worker's side: read the file with libhdf5 in this (disposable) process and write the result.
///
/// Started by `HDF5Format.readIsolated` through `HDF5Isolation.serveIfRequested()`; not meant for other callers.
enum HDF5Worker {
    /// The input file (opened and checked by the parent) and the result's memory file, as the parent passes them.
    static let inputDescriptor: Int32 = 3, resultDescriptor: Int32 = 4

    /// Runs the worker with `arguments` (parent pid, memory limit, CPU seconds); returns the exit status: 0 with
    /// the result written, 2 with the `TensorFileError` as JSON on standard output, 64 when not started as one.
    static func main(_ arguments: [String]) -> Int32 {
        guard arguments.count == 3, let parent = Int32(arguments[0]), let memory = Int(arguments[1]),
              let seconds = Int(arguments[2]) else { return 64 }
        // Die with the parent (Ctrl-C, kill -9); if it is already gone, stop now.
        rnn_die_with_parent(SIGKILL)
        guard getppid() == parent else { return 70 }
        var info = stat()
        guard fstat(inputDescriptor, &info) == 0, fstat(resultDescriptor, &info) == 0 else { return 64 }
        var limit = rlimit(rlim_cur: rlim_t(memory), rlim_max: rlim_t(memory))
        setrlimit(Int32(RLIMIT_AS.rawValue), &limit)
        limit = rlimit(rlim_cur: rlim_t(seconds), rlim_max: rlim_t(seconds + 1))
        setrlimit(Int32(RLIMIT_CPU.rawValue), &limit)
        limit = rlimit(rlim_cur: 0, rlim_max: 0)
        setrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
        let path = "input"  // the parent puts its own path into errors
        do {
            let (datasets, metadata) = try HDF5Library.locked {
                try HDF5Reader.read(path: path, opening: "/proc/self/fd/\(inputDescriptor)")
            }
            try write(datasets, metadata, to: OutputFile(path: path, descriptor: resultDescriptor))
            return 0
        } catch {
            let reported = error as? TensorFileError ?? TensorFileError(path: path, problem: .hdf5("\(error)"))
            if let data = try? JSONEncoder().encode(reported) { FileHandle.standardOutput.write(data) }
            return 2
        }
    }

    /// Writes the header (located datasets by their file offset, the others by their offset in the data area)
    /// and then the read datasets' bytes, each 64-byte aligned.
    private static func write(
        _ datasets: OrderedDictionary<String, HDF5Reader.Dataset>, _ metadata: StateDict.Metadata, to output: OutputFile
    ) throws {
        var entries: [HDF5WorkerResult.Entry] = []
        var tensors: [Tensor] = []
        // Offsets are relative to the data area; fixed up once the header's length is known.
        var dataOffset = 0
        for (name, dataset) in datasets {
            switch dataset {
            case .read(let tensor):
                entries.append(.init(name: name, dtype: tensor.dtype.rawValue, shape: tensor.shape, offset: dataOffset))
                tensors.append(tensor)
                dataOffset += (tensor.byteCount + 63) / 64 * 64
            case .located(let dtype, let shape, let offset):
                entries.append(.init(name: name, dtype: dtype.rawValue, shape: shape, fileOffset: offset))
            }
        }
        let metadata = metadata.map { [$0.key, $0.value] }
        // The header's length depends on the offsets' digits: iterate until it is stable.
        var dataStart = 64
        var header = Data()
        for _ in 0..<4 {
            var shifted = entries
            for i in shifted.indices { shifted[i].offset = shifted[i].offset.map { $0 + dataStart } }
            header = try JSONEncoder().encode(HDF5WorkerResult(tensors: shifted, metadata: metadata))
            let needed = (8 + header.count + 63) / 64 * 64
            if needed == dataStart { break }
            dataStart = needed
        }
        var prefix: [UInt8] = []
        prefix.appendLittleEndian(UInt64(header.count))
        prefix += header
        prefix += [UInt8](repeating: 0x20, count: dataStart - prefix.count)
        try output.write(prefix)
        for tensor in tensors {
            try tensor.withUnsafeBytes { try output.write($0) }
            let padding = (tensor.byteCount + 63) / 64 * 64 - tensor.byteCount
            if padding > 0 { try output.write([UInt8](repeating: 0, count: padding)) }
        }
    }
}
