import Foundation
import Testing
import TestSupport
import TensorIO
@testable import RNNCommands

struct InspectTests {
    @Test func listsEveryTensorWithDTypeShapeAndBytesThenTheMetadata() throws {
        let result = try run("rnn-inspect", [Repository.fixture("formats/model/rnn_tanh.h5").path])
        #expect(result.status == 0, "\(result.error)")
        let lines = result.output.split(separator: "\n").map(String.init)
        #expect(lines[0].hasSuffix("rnn_tanh.h5: HDF5, 16 tensors, 736 bytes"))
        #expect(lines[1].split(separator: " ") == ["name", "dtype", "shape", "bytes"])
        #expect(lines[2].split(separator: " ") == ["weight_ih_l0", "float32", "[4,", "3]", "48"])
        #expect(lines.contains("  nonlinearity = tanh"))
        #expect(result.error.isEmpty)
    }

    @Test func npzAndHDF5ListTheSameTensors() throws {
        let npz = try run("rnn-inspect", [Repository.fixture("formats/model/rnn_tanh.npz").path])
        let h5 = try run("rnn-inspect", [Repository.fixture("formats/model/rnn_tanh.h5").path])
        #expect(npz.output.split(separator: "\n").dropFirst() == h5.output.split(separator: "\n").dropFirst())
    }

    @Test func badFileIsOneLineOnStderrAndExitStatus2() throws {
        let temporary = try TemporaryFolder()
        defer { temporary.remove() }
        let folder = temporary.url
        let whole = try Data(contentsOf: Repository.fixture("formats/model/rnn_tanh.npz"))
        try whole.prefix(whole.count / 2).write(to: folder.appending(path: "half.npz"))
        for file in ["half.npz", "missing.h5"] {
            let result = try run("rnn-inspect", [file], in: folder)
            #expect(result.status == 2)
            #expect(result.output.isEmpty)
            #expect(result.error.hasPrefix("error: \(file): "), "\(result.error)")
            #expect(result.error.split(separator: "\n").count == 1, "\(result.error)")
        }
    }

    @Test func usageErrorKeepsArgumentParsersStatus() throws {
        let result = try run("rnn-inspect", [])
        #expect(result.status == 64)
        #expect(result.error.contains("USAGE") || result.error.contains("Usage"), "\(result.error)")
    }

    @Test func reportCountsOneTensorInTheSingular() throws {
        let report = InspectReport(file: "w.npy", format: "NPY", stateDict: StateDict(tensors: ["w": try Tensor(zeros: .float32, shape: [2])]))
        #expect(report.text.hasPrefix("w.npy: NPY, 1 tensor, 8 bytes"))
    }
}

/// A huge metadata value is cut in the listing, whole in the JSON.
struct InspectLongValueTests {
    @Test func longMetadataValuesAreCutInTheListingOnly() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        var dict = try TensorFile.read(contentsOf: Repository.fixture("torch/seed_batch_first/model.npz"))
        dict.metadata["notes"] = String(repeating: "x", count: 10_000_000)
        let file = folder.file("long.safetensors")  // NPZ strings stop at 1 Mi characters; safetensors headers at 100 MB
        try TensorFile.write(dict, to: file)
        let text = try run("rnn-inspect", [file.path])
        #expect(text.status == 0)
        let line = text.output.split(separator: "\n").first { $0.hasPrefix("  notes = ") }
        #expect(line.map { $0.count < 300 } == true, "\(line?.prefix(400) ?? "no notes line")")
        #expect(line?.hasSuffix("… (10000000 characters; --json shows all)") == true)
        let json = try run("rnn-inspect", [file.path, "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
        #expect((object?["metadata"] as? [String: String])?["notes"]?.count == 10_000_000)
    }
}
