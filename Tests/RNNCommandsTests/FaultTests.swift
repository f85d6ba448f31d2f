import Foundation
import Synchronization
import Testing
import TestSupport
import TensorIO
#if canImport(Glibc)
import Glibc
#endif

/// The faults and races of issue 14 as a user meets them, each through the built commands: FIFOs, Ctrl-C and
/// kill during an isolated HDF5 read, racing writers, names that try to forge output, file names that are not
/// UTF-8, links and modes at the destination, a full disk, long names, output extensions.
struct FaultTests {
    static let model = Repository.fixture("torch/seed_batch_first/model.npz").path
    static let inputs = Repository.fixture("torch/seed_batch_first/inputs.npz").path
    static let expected = Repository.fixture("torch/seed_batch_first/expected.npz").path

    /// Exit 2 with exactly one line on stderr that starts with `error: ` and holds no control character.
    static func expectOneLineError(_ result: CommandResult, _ context: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 2, "\(context): exit \(result.status), \(result.error)", sourceLocation: sourceLocation)
        let lines = result.error.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 2 && lines[1].isEmpty && lines[0].hasPrefix("error: "), "\(context): \(result.error.debugDescription)",
                sourceLocation: sourceLocation)
        #expect(!result.error.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" || (0x7F...0x9F).contains($0.value) },
                "\(context): \(result.error.debugDescription)", sourceLocation: sourceLocation)
    }

    // MARK: FIFOs

    /// A FIFO as the model, the inputs or the expected file is refused at once, never opened blocking.
    @Test func aFIFOIsRefusedByEveryCommandAtOnce() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let fifo = folder.file("f.npz").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let out = folder.file("out.npz").path
        let calls: [(String, [String])] = [
            ("rnn-inspect", [fifo]),
            ("rnn-convert", [fifo, "-o", out]),
            ("rnn-run", [fifo, Self.inputs, "-o", out]),
            ("rnn-run", [Self.model, fifo, "-o", out]),
            ("rnn-verify", [Self.model, Self.inputs, fifo]),
            ("rnn-verify", [Self.model, fifo, Self.expected]),
        ]
        for (command, arguments) in calls {
            let started = Date()
            let result = try run(command, arguments)
            #expect(Date().timeIntervalSince(started) < 10)
            Self.expectOneLineError(result, "\(command) \(arguments)")
            #expect(result.error.contains("f.npz: is a FIFO, not a regular file"), "\(result.error)")
        }
    }

    // MARK: Ctrl-C and kill during an isolated HDF5 read

    /// A gzip-chunked HDF5 file that takes the worker a noticeable time to read (`writeSlowHDF5`).
    static func slowHDF5(in folder: TemporaryFolder) throws -> String {
        let url = folder.file("slow.h5")
        try writeSlowHDF5(to: url, seed: 11)
        return url.path
    }

    /// The fields of /proc/PID/stat after the command's name (state, ppid, pgrp, …), or nil.
    static func statFields(_ pid: Int32) -> [Substring]? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ")
    }

    /// Every pid whose /proc stat field `index` (0 state, 1 ppid, 2 pgrp) is `value`.
    static func processes(whereField index: Int, is value: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let fields = statFields(pid), fields.count > index else { return false }
            return Int32(fields[index]) == value
        }
    }

    /// The pids of the processes in process group `group`.
    static func members(ofGroup group: Int32) -> [Int32] { processes(whereField: 2, is: group) }

    /// The children of `parent`.
    static func children(of parent: Int32) -> [Int32] { processes(whereField: 1, is: parent) }

    /// Starts rnn-inspect on `file` as the leader of a new process group (as a shell starts a job), waits until
    /// its HDF5 worker runs, then calls `interrupt` with the command's pid; returns how it ended and its stderr.
    static func interruptedRead(_ file: String, _ interrupt: (Int32) -> Void) throws -> (Process, String, [Int32]) {
        let process = Process()
        process.executableURL = try Repository.executable("rnn-inspect")
        process.arguments = [file]
        let error = Pipe()
        process.standardError = error
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        setpgid(pid, pid)  // a job of its own, whatever Process did
        var workers: [Int32] = []
        let deadline = Date().addingTimeInterval(10)
        while workers.isEmpty && Date() < deadline && process.isRunning {
            workers = children(of: pid)
            usleep(2000)
        }
        interrupt(pid)
        let text = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process, text, workers)
    }

    static func sharedMemoryFiles() -> Set<String> {
        Set(((try? FileManager.default.contentsOfDirectory(atPath: "/dev/shm")) ?? []).filter { $0.hasPrefix("rnn-") })
    }

    /// Ctrl-C (SIGINT to the whole process group) during an isolated read ends the command and its worker
    /// and leaves nothing in /dev/shm.
    @Test func ctrlCDuringAnIsolatedReadLeavesNoWorkerAndNoFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let file = try Self.slowHDF5(in: folder)
        let before = Self.sharedMemoryFiles()
        let (process, message, workers) = try Self.interruptedRead(file) { pid in kill(-pid, SIGINT) }
        #expect(!workers.isEmpty, "the worker was never seen running")
        #expect(process.terminationStatus == 128 + SIGINT, "\(process.terminationReason) \(process.terminationStatus): \(message)")
        #expect(Self.waitUntilGone(workers).isEmpty, "a worker outlived Ctrl-C: \(workers)")
        #expect(Self.members(ofGroup: process.processIdentifier).allSatisfy(Self.isZombie))
        #expect(Self.sharedMemoryFiles() == before)
        #expect(try folder.contents() == ["slow.h5"])
    }

    /// Killing the command (SIGKILL, which it cannot handle) kills its worker too (PR_SET_PDEATHSIG).
    @Test func killingTheCommandKillsItsWorker() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let file = try Self.slowHDF5(in: folder)
        let before = Self.sharedMemoryFiles()
        let (process, _, workers) = try Self.interruptedRead(file) { pid in kill(pid, SIGKILL) }
        #expect(!workers.isEmpty, "the worker was never seen running")
        #expect(process.terminationReason == .uncaughtSignal)
        let alive = Self.waitUntilGone(workers)
        #expect(alive.isEmpty, "the worker outlived its killed parent: \(alive)")
        #expect(Self.sharedMemoryFiles() == before)
    }

    /// Waits up to 5 s for `pids` to end; returns those still running (zombies count as ended).
    static func waitUntilGone(_ pids: [Int32]) -> [Int32] {
        var alive = pids
        let deadline = Date().addingTimeInterval(5)
        repeat {
            alive = alive.filter { kill($0, 0) == 0 && !isZombie($0) }
            if alive.isEmpty { break }
            usleep(10_000)
        } while Date() < deadline
        return alive
    }

    static func isZombie(_ pid: Int32) -> Bool {
        statFields(pid).map { $0.first == "Z" } ?? true
    }

    // MARK: Racing writers

    /// Eight converts to one new file at once, without --force: exactly one wins, the others exit 2 saying the
    /// file exists, and the file is complete.
    @Test func racingWritersWithoutForceLetExactlyOneWin() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        for format in ["npz", "h5", "safetensors", "onnx"] {
            let out = folder.file("new.\(format)").path
            let results = Mutex<[CommandResult]>([])
            onSeparateThreads(8) { _ in
                let result = (try? run("rnn-convert", [Self.model, "-o", out])) ?? CommandResult(status: -1, output: "", error: "not run")
                results.withLock { $0.append(result) }
            }
            let all = results.withLock { $0 }
            #expect(all.filter { $0.status == 0 }.count == 1, "\(format): \(all.map(\.status))")
            for loser in all where loser.status != 0 {
                Self.expectOneLineError(loser, format)
                #expect(loser.error.contains("already exists (use --force to replace it)"), "\(loser.error)")
            }
            if format != "onnx" { #expect(try TensorFile.read(contentsOf: URL(fileURLWithPath: out)).tensors.count == 4) }
        }
        #expect(try folder.contents() == ["new.h5", "new.npz", "new.onnx", "new.safetensors"])
    }

    // MARK: Strings from files

    /// Tensor names and metadata holding line breaks and escape sequences reach neither an error nor a
    /// listing raw, in NPZ, HDF5 and safetensors, text and JSON alike.
    @Test func namesAndMetadataCannotForgeOutput() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let forged = "enc\nerror: forged\u{1B}[31m\u{9B}2J"
        var dict = StateDict(tensors: [
            "\(forged).weight_ih_l0": try Tensor(zeros: .float32, shape: [4, 3]),
            "\(forged).weight_hh_l0": try Tensor(zeros: .float32, shape: [4, 4]),
        ])
        dict.metadata["mode"] = "gru\nerror: second forged line\u{1B}[31m"
        for format in ["npz", "h5", "safetensors"] {
            let file = folder.file("forged.\(format)")
            try TensorFile.write(dict, to: file)
            let convert = try run("rnn-convert", [file.path, "-o", folder.file("out.npz").path])
            Self.expectOneLineError(convert, "convert \(format)")
            #expect(convert.error.contains(#"metadata mode = "gru\nerror: second forged line\x1b[31m""#), "\(convert.error)")
            for arguments in [[file.path], [file.path, "--json"]] {
                let inspect = try run("rnn-inspect", arguments)
                #expect(inspect.status == 0, "\(inspect.error)")
                #expect(!inspect.output.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) },
                        "\(format) \(arguments): \(inspect.output.debugDescription)")
                #expect(!inspect.output.contains("\nerror:"), "\(inspect.output)")
            }
            let json = try run("rnn-inspect", [file.path, "--json"])
            let object = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
            // The JSON still holds the exact strings for a program to read.
            #expect((object?["metadata"] as? [String: String])?["mode"] == dict.metadata["mode"])
        }
    }

    /// A file whose name is not UTF-8 opens, and its name is shown with the byte escaped.
    @Test func aFileNameThatIsNotUTF8Opens() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let latin1: [UInt8] = Array("lat1_".utf8) + [0xE9] + Array(".npz".utf8)
        let name = FileSystemPath.string(fromBytes: latin1)
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.model))
        let fd = FileSystemPath.withCString(folder.url.path + "/" + name) { open($0, O_WRONLY | O_CREAT | O_EXCL, 0o644) }
        #expect(fd >= 0)
        _ = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        // The shell passes the raw bytes, as a user's shell does.
        let shell = try runShell(#"exec "$0" "$(printf 'lat1_\351.npz')" --batch-first"#, try Repository.executable("rnn-inspect").path, in: folder.url)
        #expect(shell.status == 0, "\(shell.error)")
        #expect(shell.output.hasPrefix(#"lat1_\xe9.npz: NPZ, 4 tensors"#), "\(shell.output)")
        let convert = try runShell(#"exec "$0" "$(printf 'lat1_\351.npz')" -o "$(printf 'out_\351.h5')""#,
                                   try Repository.executable("rnn-convert").path, in: folder.url)
        #expect(convert.status == 0, "\(convert.error)")
        let outName = FileSystemPath.string(fromBytes: Array("out_".utf8) + [0xE9] + Array(".h5".utf8))
        #expect(try TensorFile.read(contentsOf: URL(fileURLWithPath: folder.url.path + "/" + outName)).tensors.count == 4)
    }

    // MARK: The destination

    /// A dangling link is an existing output: refused without --force; with --force the link stays and its
    /// target is written. A replaced file keeps its mode.
    @Test func linksAndModesAtTheDestinationAreKept() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let link = folder.file("link.npz").path
        #expect(symlink("target.npz", link) == 0)
        Self.expectOneLineError(try run("rnn-convert", [Self.model, "-o", link]), "dangling link")
        #expect(try folder.contents() == ["link.npz"])
        #expect(try run("rnn-convert", [Self.model, "-o", link, "--force"]).status == 0)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == "target.npz")
        #expect(try TensorFile.read(contentsOf: folder.file("target.npz")).tensors.count == 4)
        // Through the link again, now to an existing private file.
        #expect(chmod(folder.file("target.npz").path, 0o600) == 0)
        #expect(try run("rnn-convert", [Self.model, "-o", link, "--force", "--compress"]).status == 0)
        var info = stat()
        #expect(stat(folder.file("target.npz").path, &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(try folder.contents() == ["link.npz", "target.npz"])
        // A new file gets 0666 less the umask, as any program's new file.
        #expect(try run("rnn-convert", [Self.model, "-o", folder.file("new.h5").path]).status == 0)
        let mask = umask(0o022)
        umask(mask)
        #expect(stat(folder.file("new.h5").path, &info) == 0 && info.st_mode & 0o777 == 0o666 & ~mask)
    }

    /// Output names up to the file system's 255 bytes work: the temporary name is short and of fixed length.
    @Test func anOutputNameOf255BytesWorks() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let name = String(repeating: "n", count: 251) + ".npz"
        let result = try run("rnn-convert", [Self.model, "-o", folder.file(name).path])
        #expect(result.status == 0, "\(result.error)")
        #expect(try folder.contents() == [name])
    }

    /// A full disk (a 4 MiB tmpfs when this runs as root, as CI does; else a file-size limit) while writing any
    /// format: one line naming the file (and for HDF5 the tensor) and the system's reason; nothing left behind.
    @Test func aFullDiskIsOneLineAndLeavesNothing() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        var generator = SplitMix64(seed: 3)
        let big = folder.file("big.npz")
        try TensorFile.write(StateDict(tensors: [
            "weight_ih_l0": try Tensor(shape: [2048, 1024], elements: (0..<(2048 * 1024)).map { _ in Float(generator.next() >> 40) }),
            "weight_hh_l0": try Tensor(shape: [2048, 512], elements: (0..<(2048 * 512)).map { _ in Float(generator.next() >> 40) }),
        ]), to: big)
        let small = folder.file("small")
        try FileManager.default.createDirectory(at: small, withIntermediateDirectories: true)
        let mounted = getuid() == 0 && runShellStatus("mount -t tmpfs -o size=4m tmpfs \"$0\"", small.path) == 0
        defer { if mounted { _ = runShellStatus("umount \"$0\"", small.path) } }
        for format in ["h5", "npz", "safetensors", "onnx"] {
            let out = small.appending(path: "out.\(format)").path
            let result = mounted
                ? try run("rnn-convert", [big.path, "-o", out])
                : try runShell(#"ulimit -f 4096; exec "$0" "$1" -o "$2""#, try Repository.executable("rnn-convert").path, big.path, out)
            Self.expectOneLineError(result, format)
            let reason = mounted ? "No space left on device" : "File too large"
            #expect(result.error.contains("\(out): ") && result.error.contains(reason), "\(format): \(result.error)")
            if format == "h5" { #expect(result.error.contains("tensor \"weight_"), "\(result.error)") }
            #expect(result.error.count < 200, "\(result.error)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: small.path).isEmpty)
        }
    }

    // MARK: Output extensions

    /// One rule for every command: an unknown or unsupported output extension is a usage error (64) before any
    /// work; rnn-run writes every tensor format rnn-convert writes.
    @Test func outputExtensionsFollowOneRule() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let convert = try run("rnn-convert", [Self.model, "-o", folder.file("x.txt").path])
        #expect(convert.status == 64 && convert.error.contains("unknown extension \".txt\""), "\(convert.error)")
        let runTXT = try run("rnn-run", [Self.model, Self.inputs, "-o", folder.file("x.txt").path])
        #expect(runTXT.status == 64 && runTXT.error.contains("unknown extension \".txt\""), "\(runTXT.error)")
        let runONNX = try run("rnn-run", [Self.model, Self.inputs, "-o", folder.file("x.onnx").path])
        #expect(runONNX.status == 64 && runONNX.error.contains("not .onnx"), "\(runONNX.error)")
        for format in ["npz", "h5", "hdf5", "safetensors"] {
            let out = folder.file("r.\(format)")
            let result = try run("rnn-run", [Self.model, Self.inputs, "-o", out.path, "--batch-first"])
            #expect(result.status == 0, "\(format): \(result.error)")
            #expect(try TensorFile.read(contentsOf: out).names.sorted() == ["h_n", "output"])
        }
        #expect(try folder.contents() == ["r.h5", "r.hdf5", "r.npz", "r.safetensors"])
    }

    /// On a terminal, an error that happens while the progress line shows starts a line of its own.
    @Test func anErrorAfterProgressStartsItsOwnLine() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        var generator = SplitMix64(seed: 5)
        let big = folder.file("big.npz")
        let count = 26_000_000  // 104 MB: progress is shown from 100 MB
        try TensorFile.write(StateDict(tensors: [
            "weight_ih_l0": try Tensor(shape: [count / 8, 8], elements: (0..<count).map { _ in Float(generator.next() >> 40) }),
        ]), to: big)
        // `script` gives the command a terminal; the model (no weight_hh_l0) is refused after loading, while
        // the progress line shows.
        let result = try runShell(#"script -qec "$0 $1 -o $2/out.npz" /dev/null"#, try Repository.executable("rnn-convert").path, big.path, folder.url.path)
        let screen = result.output.replacingOccurrences(of: "\r\n", with: "\n")
        let errorLine = screen.split(separator: "\n").first { $0.contains("error:") }
        #expect(screen.contains("rnn-convert: reading"), "no progress was shown: \(screen.debugDescription)")
        #expect(errorLine?.hasPrefix("error: ") == true, "\(screen.debugDescription)")
    }
}

/// The exit status of `sh -c script arguments…`, its output discarded.
func runShellStatus(_ script: String, _ arguments: String...) -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", script] + arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return -1 }
    process.waitUntilExit()
    return process.terminationStatus
}
