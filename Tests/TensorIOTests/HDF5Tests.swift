import Foundation
import Testing
import TestSupport
@testable import TensorIO

struct HDF5Tests {
    @Test(arguments: [WriteOptions(), WriteOptions(compress: true), WriteOptions(nestedGroups: true),
                      WriteOptions(compress: true, nestedGroups: true)])
    func roundTripKeepsEveryTensorAndTheMetadata(options: WriteOptions) throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let original = try sampleStateDict(includeBFloat16: true)
        let url = folder.file("model.h5")
        try HDF5Format.write(original, to: url, options: options)
        let read = try HDF5Format.read(contentsOf: url)
        if options.nestedGroups {
            // Groups come back in creation order, each group's members together: compare as sets of names.
            #expect(Set(read.names) == Set(original.names))
            for name in original.names { #expect(read[name] == original[name], "\(name)") }
            #expect(read.metadata == original.metadata)
        } else {
            #expect(read == original)
        }
    }

    @Test(arguments: [WriteOptions(compress: true), WriteOptions(nestedGroups: true)])
    func sameTensorsGiveTheSameBytes(options: WriteOptions) throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try HDF5Format.write(try sampleStateDict(), to: folder.file("a.h5"), options: options)
        // A second apart, so that any recorded time (whole seconds in HDF5) would differ.
        Thread.sleep(forTimeInterval: 1.1)
        try HDF5Format.write(try sampleStateDict(), to: folder.file("b.h5"), options: options)
        #expect(try bytes(of: folder.file("a.h5")) == bytes(of: folder.file("b.h5")))
    }

    @Test func truncatedFileGivesOneLineErrorNamingTheFile() throws {
        let whole = try bytes(of: Repository.fixture("formats/h5/nested.h5"))
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        for length in stride(from: 8, to: whole.count, by: max(1, whole.count / 40)) {
            let url = folder.file("cut.h5")
            try Data(whole[..<length]).write(to: url)
            if let error = fileError("cut at \(length)", { _ = try TensorFile.read(contentsOf: url) }) {
                #expect(error.description.contains("cut.h5"))
                #expect(!error.description.contains("\n"), "\(error)")
            }
        }
    }

    @Test func nameClashBetweenTensorAndGroupFailsAndLeavesNothing() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let dict = StateDict(tensors: [
            "a": try Tensor(zeros: .float32, shape: [1]), "a.b": try Tensor(zeros: .float32, shape: [1]),
        ])
        #expect(fileProblem { try HDF5Format.write(dict, to: folder.file("x.h5"), options: WriteOptions(nestedGroups: true)) }?.kind == "cannotStore")
        #expect(try folder.contents().isEmpty)
    }

    @Test func chunksStayWithinAMebibyte() {
        #expect(HDF5Writer.chunkShape([4096, 4096], elementSize: 4).reduce(4, *) <= 1 << 20)
        #expect(HDF5Writer.chunkShape([3, 5], elementSize: 8) == [3, 5])
    }
}

struct AtomicWriteTests {
    @Test func failureHalfwayKeepsTheOldFileAndLeavesNoTemporary() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let url = folder.file("model.h5")
        try HDF5Format.write(try sampleStateDict(), to: url)
        let before = try bytes(of: url)
        // The second tensor's name cannot be a dataset name: the write fails after the first was written.
        let bad = StateDict(tensors: ["ok": try Tensor(zeros: .float32, shape: [8]), "bad/name": try Tensor(zeros: .float32, shape: [1])])
        #expect(fileProblem { try HDF5Format.write(bad, to: url) }?.kind == "cannotStore")
        #expect(try bytes(of: url) == before)
        #expect(try folder.contents() == ["model.h5"])
    }

    @Test func npzFailureKeepsTheOldFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let url = folder.file("model.npz")
        try NPZFormat.write(try sampleStateDict(), to: url)
        let before = try bytes(of: url)
        #expect(fileProblem { try NPZFormat.write(try sampleStateDict(includeBFloat16: true), to: url) }?.kind == "cannotStore")
        #expect(try bytes(of: url) == before)
        #expect(try folder.contents() == ["model.npz"])
    }

    @Test func unwritableFolderIsAnIOError() throws {
        let url = URL(fileURLWithPath: "/nonexistent-folder-\(UUID().uuidString)/model.npz")
        #expect(fileProblem { try NPZFormat.write(try sampleStateDict(), to: url) }?.kind == "io")
    }
}

struct TensorFileTests {
    @Test func missingFileIsAnIOErrorNamingIt() {
        let error = fileError { _ = try TensorFile.read(contentsOf: URL(fileURLWithPath: "no-such-file.npz")) }
        #expect(error?.problem.kind == "io")
        #expect(error?.description.hasPrefix("no-such-file.npz: ") == true)
    }

    @Test func unknownBytesAreAnUnknownFormat() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let url = folder.file("model.bin")
        try Data("hello, world".utf8).write(to: url)
        #expect(fileProblem { _ = try TensorFile.read(contentsOf: url) } == .unknownFormat)
    }

    @Test func unknownExtensionIsRefusedForWriting() throws {
        #expect(fileProblem { try TensorFile.write(StateDict(), to: URL(fileURLWithPath: "/tmp/x.weights")) }?.kind == "cannotStore")
    }
}
