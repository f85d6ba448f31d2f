import Foundation
import Testing
import TensorIO
import TestSupport

/// `rnn-convert -o MODEL.onnx` on a large model: what the export adds to memory, and what Ctrl-C leaves behind.
///
/// Serialized: each test runs the command on a 269 MB model it writes first, and three at once would only
/// compete for the two cores and the disk.
@Suite(.serialized)
struct ONNXExportMemoryTests {
    /// A 2-layer LSTM, input and hidden size 2048, float32: 268,566,528 bytes of weights, written with our own
    /// NPZ writer as `model.npz` in `folder`. The weights are a seeded 64 KiB pattern repeated (their values do
    /// not matter here, only that every page is real).
    static func writeLargeModel(in folder: TemporaryFolder) throws -> (url: URL, weightBytes: Int) {
        var random = SplitMix64(seed: 14)
        var tensors = StateDict()
        let hidden = 2048
        for layer in 0..<2 {
            for (kind, shape) in [("weight_ih", [4 * hidden, 2048]), ("weight_hh", [4 * hidden, hidden]),
                                  ("bias_ih", [4 * hidden]), ("bias_hh", [4 * hidden])] {
                var tensor = try Tensor(zeros: .float32, shape: shape)
                tensor.withUnsafeMutableBytes { bytes in
                    let floats = bytes.bindMemory(to: Float.self)
                    let pattern = min(floats.count, 16384)
                    for i in 0..<pattern { floats[i] = Float(random.uniform(1)) }
                    var filled = pattern
                    while filled < floats.count {
                        let count = min(filled, floats.count - filled)
                        (floats.baseAddress! + filled).update(from: floats.baseAddress!, count: count)
                        filled += count
                    }
                }
                tensors.tensors["\(kind)_l\(layer)"] = tensor
            }
        }
        let url = folder.file("model.npz")
        try NPZFormat.write(tensors, to: url)
        return (url, tensors.tensors.values.reduce(0) { $0 + $1.byteCount })
    }

    @Test func onnxExportAddsAtMostAThirdOfTheModelToPeakMemory() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let (model, weightBytes) = try Self.writeLargeModel(in: folder)
        let convert = try Repository.executable("rnn-convert")
        // The allowance: the same command writing NPZ, which holds the loaded weights once (1.0×) plus what
        // the process and the NPZ writer take.
        let npz = try runMeasuringPeakMemory(convert, [model.path, "-o", folder.file("out.npz").path], in: folder)
        #expect(npz.status == 0, "\(npz.errors)")
        let onnx = try runMeasuringPeakMemory(convert, [model.path, "-o", folder.file("out.onnx").path], in: folder)
        #expect(onnx.status == 0, "\(onnx.errors)")
        let onnxSize = try #require(try FileManager.default.attributesOfItem(atPath: folder.file("out.onnx").path)[.size] as? Int)
        #expect(onnxSize > weightBytes && onnxSize < weightBytes + (1 << 20))
        // At most 1.3× the weights plus the allowance: the export may add 0.3× to what loading holds.
        let limit = npz.peakBytes + weightBytes * 3 / 10
        #expect(onnx.peakBytes <= limit,
                "ONNX export peaked at \(onnx.peakBytes) bytes, NPZ at \(npz.peakBytes), for \(weightBytes) bytes of weights")
    }

    @Test func interruptedOnnxWriteLeavesNoFileAndKeepsTheOldOne() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let (model, _) = try Self.writeLargeModel(in: folder)
        let output = try TemporaryFolder()
        defer { output.remove() }
        let out = output.file("out.onnx")

        // Nothing there before: nothing after.
        try interruptWhileWriting(model, to: out)
        #expect(try output.contents().isEmpty)

        // An old file there (replaced with --force): still there, byte for byte.
        let old = Data("the previous model".utf8)
        try old.write(to: out)
        try interruptWhileWriting(model, to: out, "--force")
        #expect(try output.contents() == ["out.onnx"])
        #expect(try Data(contentsOf: out) == old)
    }

    /// Starts `rnn-convert MODEL -o OUT`, waits until its temporary file beside OUT has bytes in it (so the
    /// command is writing, and the file is registered for removal), sends SIGINT and waits for it to exit.
    private func interruptWhileWriting(_ model: URL, to out: URL, _ extra: String..., sourceLocation: SourceLocation = #_sourceLocation) throws {
        let process = Process()
        process.executableURL = try Repository.executable("rnn-convert")
        process.arguments = [model.path, "-o", out.path] + extra
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let folder = out.deletingLastPathComponent().path
        let deadline = Date().addingTimeInterval(60)
        var writing = false
        while !writing, process.isRunning, Date() < deadline {
            let temporary = (try? FileManager.default.contentsOfDirectory(atPath: folder))?.first { $0.hasPrefix(".rnn-") }
            let size = temporary.flatMap { try? FileManager.default.attributesOfItem(atPath: folder + "/" + $0)[.size] as? Int } ?? 0
            if size > 0 { writing = true } else { usleep(1000) }
        }
        #expect(writing, "no temporary file with data appeared while rnn-convert ran", sourceLocation: sourceLocation)
        process.interrupt()
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 128 + SIGINT,
                "rnn-convert ended with \(process.terminationStatus)", sourceLocation: sourceLocation)
    }

    @Test func onnxWriteErrorNamesTheOutputAsGiven() throws {
        let temporary = try TemporaryFolder()
        defer { temporary.remove() }
        let result = try run("rnn-convert", [Repository.fixture("torch/lstm_l1_uni_meta_f32/model.npz").path, "-o", "missing/out.onnx"],
                             in: temporary.url)
        #expect(result.status == 2, "\(result.error)")
        #expect(result.error.hasPrefix("error: missing/out.onnx: "), "\(result.error)")
        #expect(try temporary.contents().isEmpty)
    }
}

/// What a measured command left: its exit status (negative: the signal that ended it), its peak resident set in
/// bytes, and its standard error.
struct MeasuredRun {
    let status: Int32
    let peakBytes: Int
    let errors: String
}

/// Runs `executable` with `arguments` under a small Python parent that reports `getrusage(RUSAGE_CHILDREN)`:
/// the peak resident set of that one command.
///
/// Not `wait4` on a child of this test process: Linux starts a child's peak at the resident set of the process
/// it was spawned from (posix_spawn shares the parent's memory until exec, and exec keeps its peak), and this
/// process has just held the model itself, so every command would seem to take at least as much as the test.
/// The Python parent is small (its own peak, a few tens of MB, is in every measurement alike).
func runMeasuringPeakMemory(_ executable: URL, _ arguments: [String], in folder: TemporaryFolder) throws -> MeasuredRun {
    let script = """
        import resource, subprocess, sys
        status = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
        print(status, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: PythonTool.python)
    process.arguments = ["-c", script, executable.path] + arguments
    process.currentDirectoryURL = folder.url
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let outText = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let errText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    let fields = outText.split(whereSeparator: \.isWhitespace)
    guard process.terminationStatus == 0, fields.count == 2, let status = Int32(fields[0]), let kilobytes = Int(fields[1]) else {
        throw MeasurementFailed(output: outText + errText)
    }
    // Linux reports ru_maxrss in kilobytes.
    return MeasuredRun(status: status, peakBytes: kilobytes * 1024, errors: errText)
}

struct MeasurementFailed: Error, CustomStringConvertible {
    let output: String
    var description: String { "the measuring Python parent failed: \(output)" }
}
