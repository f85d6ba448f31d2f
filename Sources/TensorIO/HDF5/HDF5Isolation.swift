import Foundation
import OrderedCollections
#if canImport(Glibc)
import Glibc
#endif

/// Reading HDF5 in a child process, so that a file that crashes or hangs libhdf5 cannot take the caller down.
///
/// libhdf5 1.10 crashes (segfault, abort, SIGFPE) or loops on public CVE reproducers, and a process cannot catch
/// that. `HDF5Format.readIsolated` runs the reader in `rnn-hdf5-worker`, with a CPU-time, wall-clock and memory
/// limit. The worker only looks at the file where it can: a dataset whose bytes lie in the file exactly as the
/// tensor wants them (contiguous, allocated, native byte order: what h5py and we write) is reported by its
/// offset, and this process reads it itself, straight into fresh memory, after checking the range against the
/// file. Other datasets (chunked, compressed, converted) the worker reads with libhdf5 into a file in shared
/// memory (`/dev/shm` when available), which this process maps: those tensors borrow the mapping. A crash, a
/// timeout or the memory limit becomes a `TensorFileError` naming the file.
///
/// Measured on a 352 MB contiguous model: the worker writing everything into `/dev/shm` and this process
/// mapping it cost 264 ms against h5py's 119 ms; 4 KiB page faults on both sides made most of it (shared
/// memory gets no huge pages here: `shmem_enabled` is `never`), and writing straight into a shared mapping
/// instead of copying still cost about 190 ms of faults in the worker. Reading the located ranges here, into
/// huge-page memory, costs what reading in process does.
public struct HDF5IsolationLimits: Sendable, Equatable {
    /// Wall-clock seconds before the worker is killed (its CPU time is limited to the same).
    public var seconds: Double
    /// Address-space limit of the worker in bytes; nil: 2 GiB plus 8 × the file's size.
    public var memoryBytes: Int?

    /// Limits: by default 15 s plus 1 s per 50 MB of file (a hostile file is stopped well within 20 s; a real
    /// model reads at several hundred MB/s), and the memory rule above.
    public init(seconds: Double? = nil, memoryBytes: Int? = nil, fileSize: Int = 0) {
        self.seconds = seconds ?? 15 + Double(fileSize) / 50_000_000
        self.memoryBytes = memoryBytes
    }
}

extension HDF5Format {
    /// The environment variable that names the worker executable; by default it is found beside this program.
    public static let workerEnvironmentKey = "RNN_HDF5_WORKER"

    /// Reads the HDF5 file at `url` in a child process (see `HDF5IsolationLimits`); the result is the same as
    /// `read(contentsOf:)`'s, or a `TensorFileError` when libhdf5 crashes, hangs or runs out of memory.
    public static func readIsolated(contentsOf url: URL, limits: HDF5IsolationLimits? = nil) throws -> StateDict {
        let path = url.filePath
        let input = try InputFile(path: path)
        let size = input.size
        let limits = limits ?? HDF5IsolationLimits(fileSize: size)
        let worker = try workerExecutable(path: path)
        let memory = limits.memoryBytes ?? (2 << 30) + 8 * size
        let resultPath = try makeResultFile(path: path)
        defer { unlink(resultPath) }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: worker)
        process.arguments = [url.path(percentEncoded: false), resultPath, String(memory), String(Int(limits.seconds.rounded(.up)))]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice  // nothing of libhdf5 may reach the terminal raw
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        do { try process.run() } catch {
            throw TensorFileError(path: path, problem: .io("cannot start the HDF5 worker \(worker): \(error.localizedDescription)"))
        }
        if finished.wait(timeout: .now() + limits.seconds) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            finished.wait()
            throw TensorFileError(path: path, problem: .hdf5(
                "libhdf5 did not finish within \(Int(limits.seconds)) s and was stopped (the file is malformed or hostile)"))
        }
        let report = output.fileHandleForReading.readDataToEndOfFile()
        switch (process.terminationReason, process.terminationStatus) {
        case (.exit, 0):
            return try mapResult(resultPath, input: input)
        case (.exit, 2) where (try? JSONDecoder().decode(TensorFileError.self, from: report)) != nil:
            var error = try JSONDecoder().decode(TensorFileError.self, from: report)
            error.path = path
            throw error
        case (.uncaughtSignal, let signal):
            let reason = signal == SIGKILL ? "ran out of its time or memory limit" : "crashed (signal \(signal))"
            throw TensorFileError(path: path, problem: .hdf5("libhdf5 \(reason) reading this file (it is malformed or hostile)"))
        default:
            throw TensorFileError(path: path, problem: .hdf5(
                "the HDF5 worker failed (exit status \(process.terminationStatus)); the file may be malformed or too large for the memory limit"))
        }
    }

    /// The worker: `RNN_HDF5_WORKER`, else `rnn-hdf5-worker` beside the running executable.
    static func workerExecutable(path: String) throws -> String {
        if let named = ProcessInfo.processInfo.environment[workerEnvironmentKey] { return named }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var folder = executable.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = folder.appending(path: "rnn-hdf5-worker").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        throw TensorFileError(path: path, problem: .io(
            "cannot read HDF5 in isolation: rnn-hdf5-worker is not beside \(executable.path) (set \(workerEnvironmentKey))"))
    }

    /// An empty temporary file in shared memory (or the temporary folder) for the worker's result.
    private static func makeResultFile(path: String) throws -> String {
        let folder = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : FileManager.default.temporaryDirectory.path
        guard let (fd, resultPath) = makeUniqueFile(template: "\(folder)/rnn-hdf5-XXXXXX") else {
            throw TensorFileError(path: path, problem: .io(systemMessage("cannot create a temporary file in \(folder)")))
        }
        close(fd)
        return resultPath
    }

    /// The tensors the worker reported: read here from `input` where the worker located them, else borrowing
    /// one private mapping of the result file.
    ///
    /// The worker is not trusted (libhdf5 ran on a possibly hostile file in it): every range must lie inside
    /// the result mapping or inside `input` as this process sees it, and each tensor must be in exactly one of
    /// them, else the result is refused as malformed. A file that changes after the worker looked is like one
    /// that changes during any read: the ranges are still checked against its size here, and a short read is
    /// a `truncated` error.
    static func mapResult(_ resultPath: String, input: InputFile) throws -> StateDict {
        let path = input.path
        let fd = open(resultPath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw TensorFileError(path: path, problem: .io(systemMessage("cannot open the HDF5 worker's result"))) }
        defer { close(fd) }
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

/// The worker's side: read the file with libhdf5 in this (disposable) process and write the result file.
///
/// Called by the `rnn-hdf5-worker` executable; not meant for other callers.
public enum HDF5Worker {
    /// Runs the worker with `arguments` (file, result path, memory limit, CPU seconds); returns the exit status:
    /// 0 with the result written, 2 with the `TensorFileError` as JSON on standard output.
    public static func main(_ arguments: [String]) -> Int32 {
        guard arguments.count == 4, let memory = Int(arguments[2]), let seconds = Int(arguments[3]) else { return 64 }
        let path = arguments[0], resultPath = arguments[1]
        var limit = rlimit(rlim_cur: rlim_t(memory), rlim_max: rlim_t(memory))
        setrlimit(Int32(RLIMIT_AS.rawValue), &limit)
        limit = rlimit(rlim_cur: rlim_t(seconds), rlim_max: rlim_t(seconds + 1))
        setrlimit(Int32(RLIMIT_CPU.rawValue), &limit)
        limit = rlimit(rlim_cur: 0, rlim_max: 0)
        setrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
        do {
            let (datasets, metadata) = try HDF5Library.locked { try HDF5Reader.read(path: path) }
            try write(datasets, metadata, to: resultPath)
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
        _ datasets: OrderedDictionary<String, HDF5Reader.Dataset>, _ metadata: StateDict.Metadata, to resultPath: String
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
        let fd = open(resultPath, O_WRONLY | O_TRUNC | O_CLOEXEC)
        guard fd >= 0 else { throw TensorFileError(path: resultPath, problem: .io(systemMessage("cannot open"))) }
        defer { close(fd) }
        let output = OutputFile(path: resultPath, descriptor: fd)
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
