import Foundation
import Testing
import TestSupport
import TensorIO

/// The expected errors of Fixtures/malformed/ (tools/make_malformed.py): truncated, bit-flipped and hostile
/// NPY, NPZ, HDF5, safetensors and PyTorch files.
struct MalformedManifest: Decodable {
    struct Expected: Decodable {
        /// `TensorFileError.Problem.kind`.
        let kind: String
        /// The tensor (or zip entry) the error names, or nil when it names none.
        let tensor: String?
        /// What is broken, for messages.
        let why: String
    }
    let files: [String: Expected]

    static let shared: MalformedManifest = {
        let data = try! Data(contentsOf: Repository.fixture("malformed/manifest.json"))
        return try! JSONDecoder().decode(MalformedManifest.self, from: data)
    }()
}

/// Every malformed file gives exactly its expected `TensorFileError`: the kind of problem, the tensor named
/// (or none), the file's path, on one line; never a crash, a hang or another error type.
struct MalformedFileTests {
    static let files = MalformedManifest.shared.files.keys.sorted()

    @Test(arguments: files)
    func malformedFileGivesItsExactProblemKindAndTensor(_ relative: String) throws {
        let expected = try #require(MalformedManifest.shared.files[relative])
        let url = Repository.fixture("malformed/" + relative)
        // HDF5 in the worker process, as the commands read it: libhdf5 itself is not ours to harden.
        try Repository.useCommandAsHDF5Worker()
        if let error = fileError("\(relative) (\(expected.why))", { _ = try TensorFile.read(contentsOf: url, isolatingHDF5: true) }) {
            #expect(error.problem.kind == expected.kind, "\(relative) (\(expected.why)): \(error)")
            #expect(error.tensor == expected.tensor, "\(relative) (\(expected.why)): \(error)")
            #expect(error.path == url.path, "\(relative): \(error)")
            #expect(!error.description.contains("\n"), "\(relative): the message is not one line: \(error)")
        }
    }

    @Test func everyFileOfTheFolderHasAnExpectedError() throws {
        let root = Repository.fixture("malformed")
        let walker = try #require(FileManager.default.enumerator(atPath: root.path))
        var onDisk: [String] = []
        while let relative = walker.nextObject() as? String {
            var isFolder: ObjCBool = false
            FileManager.default.fileExists(atPath: root.appending(path: relative).path, isDirectory: &isFolder)
            if !isFolder.boolValue, relative != "manifest.json", !relative.hasPrefix("models/") { onDisk.append(relative) }
        }
        #expect(onDisk.sorted() == Self.files)
        // Every kind of problem a reader reports about file contents is exercised at least once.
        let kinds = Set(MalformedManifest.shared.files.values.map(\.kind))
        #expect(kinds.isSuperset(of: ["truncated", "trailingBytes", "malformed", "unsupportedDType", "invalidShape",
                                      "tooLarge", "unsupportedFeature", "checksumMismatch", "unsafeName",
                                      "duplicateName", "refusedLink", "hdf5", "unknownFormat"]))
    }
}
