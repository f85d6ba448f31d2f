import Foundation
import Testing
import TestSupport
@testable import RNNCommands

/// tools/check_cli.py drives the built commands over every torch fixture and reads their output with numpy and
/// h5py; it needs the environment `tools/setup.sh` creates (or `RNN_PYTHON`), and fails rather than skips without it.
struct CommandScriptTests {
    @Test func everyCommandKeepsItsContractWithNumpyAndH5py() throws {
        let (status, text) = try PythonTool.run(
            "check_cli.py", [try Repository.executable("rnn-convert").deletingLastPathComponent().path])
        #expect(status == 0, "\(text)")
        #expect(text.contains("exit-code contract OK"), "\(text)")
    }
}

/// tools/check_keras.py proves Keras files in and out with Keras itself (jax backend, CPU) and ONNX Runtime:
/// every Keras fixture verifies and converts to exactly the PyTorch state_dict the fixture script derives, the
/// reset-before GRU is refused under PyTorch's names and reproduced by ONNX Runtime, and every .keras and
/// .weights.h5 we write loads in Keras and computes our outputs.
struct KerasScriptTests {
    @Test func kerasFilesRoundTripThroughKerasItself() throws {
        let (status, text) = try PythonTool.run(
            "check_keras.py", [try Repository.executable("rnn-convert").deletingLastPathComponent().path], timeout: .seconds(900))
        #expect(status == 0, "\(text)")
        #expect(text.contains("\n0 problems"), "\(text)")
        // Every kind of check ran (a fixture folder emptied would otherwise pass with nothing checked).
        for part in ["'verified': 59", "'converted': 50", "'refused': 9", "'onnx': 9", "'keras_loaded': 64", "'weights_loaded': 50"] {
            #expect(text.contains(part), "\(part): \(text)")
        }
    }
}

struct ConvertTests {
    @Test func defaultOutputIsTheOtherFormatBesideTheInput() throws {
        let h5 = Repository.fixture("torch/l1_bi_relu_f32/model.h5").path
        let npz = Repository.fixture("torch/l1_bi_relu_f32/model.npz").path
        #expect(try Convert.parse([h5]).destination() == String(h5.dropLast(2)) + "npz")
        #expect(try Convert.parse([npz]).destination() == String(npz.dropLast(3)) + "h5")
        #expect(try Convert.parse([npz, "--to", "npz"]).destination() == npz)
        #expect(try Convert.parse([npz, "-o", "x.h5"]).destination() == "x.h5")
    }

    /// A usage error is swift-argument-parser's: exit status 64 (EX_USAGE), then its "Error: …" line with our
    /// validation message and the usage. (The model need not exist: validation comes before any file is read.)
    @Test(arguments: [
        (["m.npz", "-o", "x.h5", "--to", "npz"], "-o x.h5 and --to npz name different formats"),
        (["m.npz", "--dtype", "int8"], "--dtype must be float16, bfloat16, float32 or float64"),
    ])
    func contradictoryOrInvalidOptionsAreAUsageError(_ arguments: [String], _ message: String) throws {
        let result = try run("rnn-convert", arguments)
        #expect(result.status == 64, "\(result.error)")
        #expect(result.error.hasPrefix("Error: \(message)\nUsage: rnn-convert "), "\(result.error)")
        #expect(result.output.isEmpty)
    }

    @Test func summaryIsOneLineNamingBothFilesAndTheConfiguration() throws {
        let temporary = try TemporaryFolder()
        defer { temporary.remove() }
        let folder = temporary.url
        let out = folder.appending(path: "enc.npz").path
        let result = try run("rnn-convert", [Repository.fixture("torch/prefix_encoder/model.h5").path, "-o", out, "--strip-prefix", "--compress"])
        #expect(result.status == 0, "\(result.error)")
        let lines = result.output.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines[0].contains("→ \(out) (NPZ, 16 tensors, float32, 3 other tensors left out): encoder.rnn = RNN(3, 5, num_layers=2"))
        let inspect = try run("rnn-inspect", [out])
        #expect(inspect.output.contains("\n  weight_ih_l0 "))
        #expect(inspect.output.contains("  prefix = \n"))
    }
}

struct VerifyTests {
    @Test func mismatchExitsOneAndNamesTheWorstElement() throws {
        let model = Repository.fixture("torch/l1_uni_tanh_h0_f32/model.npz").path
        let inputs = Repository.fixture("torch/l1_uni_tanh_h0_f32/inputs.npz").path
        let result = try run("rnn-verify", [model, inputs, inputs.replacingOccurrences(of: "inputs", with: "expected"), "--nonlinearity", "relu"])
        #expect(result.status == 1)
        #expect(result.output.contains("worst at ["))
        #expect(result.output.hasSuffix("MISMATCH (float32, atol 1e-05, rtol 1.3e-06)\n"))
    }

    @Test func toleranceOptionsAreHonoured() throws {
        let folder = "torch/l1_uni_tanh_h0_f32/"
        let args = [Repository.fixture(folder + "model.npz").path, Repository.fixture(folder + "inputs.npz").path,
                    Repository.fixture(folder + "expected.npz").path]
        #expect(try run("rnn-verify", args).status == 0)
        #expect(try run("rnn-verify", args + ["--atol", "0", "--rtol", "0"]).status == 1)
    }
}

/// A write that fails half-way (here: the file-size limit, as a full disk would) leaves no partial file and the
/// old destination untouched.
struct FailedWriteTests {
    @Test(arguments: ["out.npz", "out.h5", "out.safetensors", "out.onnx", "out.keras", "out.weights.h5"])
    func fullDiskHalfwayKeepsTheOldFileAndLeavesNoTemporary(_ name: String) throws {
        let temporary = try TemporaryFolder()
        defer { temporary.remove() }
        let folder = temporary.url
        let out = folder.appending(path: name)
        try Data("old contents".utf8).write(to: out)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        // ulimit -f counts 1024-byte blocks: 64 KiB is far less than the 1.1 MB model.
        process.arguments = ["-c", "ulimit -f 64; exec \"$0\" \"$@\"", try Repository.executable("rnn-convert").path,
                             Repository.fixture("torch/wide_hidden_f32/model.npz").path, "-o", out.path, "--force"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 2, "\(text)")
        #expect(text.hasPrefix("error: \(out.path): "), "\(text)")
        #expect(try Data(contentsOf: out) == Data("old contents".utf8))
        #expect(try temporary.contents() == [name])
    }
}
