import Foundation
import Testing
import TestSupport
import TensorIO

/// `TensorFile.read(_ data:name:)`: a file's bytes held in memory read exactly as the file, in every format.
struct BytesReadingTests {
    static let files = [
        "formats/model/rnn_tanh.npz", "formats/model/rnn_tanh.h5", "formats/npy/f2_le.npy",
        "safetensors/rnn_relu.safetensors", "safetensors/metadata.safetensors", "checkpoints/state_dict.pt",
        "checkpoints/nested.pt", "checkpoints/bf16.pt",
    ]

    @Test(arguments: files)
    func bytesReadAsTheFileReads(_ relative: String) throws {
        let url = Repository.fixture(relative)
        let fromFile = try TensorFile.read(contentsOf: url)
        let fromBytes = try TensorFile.read(Data(contentsOf: url), name: url.lastPathComponent)
        #expect(fromBytes == fromFile)
        #expect(fromBytes.names == fromFile.names, "the same order")
        #expect(!fromFile.tensors.isEmpty)
    }

    @Test func hdf5BytesReadInTheWorkerToo() throws {
        try Repository.useCommandAsHDF5Worker()
        let url = Repository.fixture("formats/model/rnn_tanh.h5")
        #expect(try TensorFile.read(Data(contentsOf: url), name: "model.h5", isolatingHDF5: true) == TensorFile.read(contentsOf: url))
    }

    /// Every malformed file gives, from its bytes, the error it gives from its path, naming the name given.
    @Test(arguments: MalformedFileTests.files)
    func malformedBytesGiveTheFilesError(_ relative: String) throws {
        try Repository.useCommandAsHDF5Worker()
        let url = Repository.fixture("malformed/" + relative)
        var fileError: TensorFileError?, bytesError: TensorFileError?
        do { _ = try TensorFile.read(contentsOf: url, isolatingHDF5: true) } catch { fileError = error as? TensorFileError }
        do { _ = try TensorFile.read(Data(contentsOf: url), name: url.path, isolatingHDF5: true) } catch { bytesError = error as? TensorFileError }
        let expected = try #require(fileError, "\(relative) reads")
        let found = try #require(bytesError, "\(relative) reads from bytes")
        if relative == "keras/shard_missing.weights.json" || (relative.hasPrefix("onnx/external_") && relative.hasSuffix(".onnx")) {
            // Its shards (its external data) are files beside it: from bytes there is no folder to find them in,
            // whatever they are.
            #expect(found.problem.kind == "unsupportedFeature", "\(found)")
            return
        }
        #expect(found.problem.kind == expected.problem.kind, "\(relative): \(found) vs \(expected)")
        #expect(found.tensor == expected.tensor, "\(relative)")
        #expect(found.path == url.path, "\(relative): the name given")
    }

    @Test func emptyAndUnknownBytesAreClearErrors() throws {
        #expect(throws: TensorFileError(path: "upload", problem: .truncated(expected: 8, found: 0))) {
            try TensorFile.read(Data(), name: "upload")
        }
        #expect(throws: TensorFileError(path: "notes.txt", problem: .unknownFormat)) {
            try TensorFile.read(Data("hello, world".utf8), name: "notes.txt")
        }
    }
}

/// StateDict equality: the same tensors and metadata by name, whatever the order.
struct StateDictEqualityTests {
    @Test func orderDoesNotMatterButEveryTensorAndValueDoes() throws {
        let a = try Tensor(shape: [2], elements: [Float(1), 2]), b = try Tensor(shape: [1], elements: [Double(3)])
        let first = StateDict(tensors: ["a": a, "b": b], metadata: ["x": "1", "y": "2"])
        let reordered = StateDict(tensors: ["b": b, "a": a], metadata: ["y": "2", "x": "1"])
        #expect(first == reordered)
        #expect(first.names != reordered.names)
        #expect(first != StateDict(tensors: ["a": a], metadata: first.metadata))
        #expect(first != StateDict(tensors: ["a": a, "c": b], metadata: first.metadata))
        #expect(first != StateDict(tensors: ["a": b, "b": b], metadata: first.metadata))
        #expect(first != StateDict(tensors: first.tensors, metadata: ["x": "1", "y": "3"]))
        #expect(first != StateDict(tensors: first.tensors, metadata: ["x": "1"]))
    }

    /// A safetensors file lists its tensors sorted by name; read back, it equals what was written.
    @Test func aSafetensorsRoundTripEqualsTheOriginal() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let original = StateDict(tensors: ["z.weight": try Tensor(shape: [1], elements: [Float(1)]),
                                           "a.weight": try Tensor(shape: [1], elements: [Float(2)])])
        try TensorFile.write(original, to: folder.file("m.safetensors"))
        let back = try TensorFile.read(contentsOf: folder.file("m.safetensors"))
        #expect(back == original)
        #expect(back.names == ["a.weight", "z.weight"])
    }
}
