import Foundation
import Testing
import TestSupport
@testable import TensorIO

/// A state_dict holding one tensor of every dtype NPY can store, plus metadata.
func sampleStateDict(includeBFloat16: Bool = false) throws -> StateDict {
    var result = StateDict()
    result["rnn.weight_ih_l0"] = try Tensor(shape: [2, 3], elements: [Float(1.5), -2, 0, .infinity, -0.0, 3e-40])
    result["rnn.bias"] = try Tensor(shape: [2], elements: [Double.pi, -1e300])
    result["half"] = try Tensor(shape: [3], elements: [Float16(0.5), -1, 65504])
    result["i8"] = try Tensor(shape: [2], elements: [Int8.min, Int8.max])
    result["i16"] = try Tensor(shape: [1], elements: [Int16(-300)])
    result["i32"] = try Tensor(shape: [1, 1], elements: [Int32.min])
    result["i64"] = try Tensor(shape: [2], elements: [Int64.max, -1])
    result["u8"] = try Tensor(shape: [1], elements: [UInt8(255)])
    result["u16"] = try Tensor(shape: [1], elements: [UInt16(65535)])
    result["u32"] = try Tensor(shape: [1], elements: [UInt32.max])
    result["u64"] = try Tensor(shape: [1], elements: [UInt64.max])
    result["mask"] = try Tensor(shape: [2, 2], elements: [true, false, false, true])
    result["scalar"] = try Tensor(shape: [], elements: [Float(7)])
    result["empty"] = try Tensor(zeros: .float32, shape: [0, 3])
    if includeBFloat16 { result["bf16"] = try Tensor(shape: [2], elements: [BFloat16(1), BFloat16(-0.15625)]) }
    result.metadata["nonlinearity"] = "relu"
    result.metadata["note"] = "ünïcode \"quoted\" \\ \n ✓"
    return result
}

struct NPZTests {
    @Test(arguments: [false, true])
    func roundTripKeepsEveryTensorAndTheMetadata(compress: Bool) throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let original = try sampleStateDict()
        let url = folder.file("model.npz")
        try NPZFormat.write(original, to: url, options: WriteOptions(compress: compress))
        #expect(try NPZFormat.read(contentsOf: url) == original)
    }

    @Test func zip64ArchiveReadsBack() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let original = try sampleStateDict()
        for compress in [false, true] {
            let url = folder.file("zip64-\(compress).npz")
            try NPZFormat.write(original, to: url, options: WriteOptions(compress: compress), forceZip64: true)
            #expect(try NPZFormat.read(contentsOf: url) == original)
        }
    }

    @Test func sameTensorsGiveTheSameBytes() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try NPZFormat.write(try sampleStateDict(), to: folder.file("a.npz"))
        try NPZFormat.write(try sampleStateDict(), to: folder.file("b.npz"))
        #expect(try bytes(of: folder.file("a.npz")) == bytes(of: folder.file("b.npz")))
    }

    @Test(arguments: ["npz/stored.npz", "npz/deflated.npz"])
    func everyTruncationIsAnErrorNeverACrash(_ fixture: String) throws {
        let whole = try bytes(of: Repository.fixture("formats/" + fixture))
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        for length in 0..<whole.count {
            let url = folder.file("cut.npz")
            try Data(whole[..<length]).write(to: url)
            #expect(fileProblem { _ = try NPZFormat.read(contentsOf: url) } != nil, "cut at \(length)")
        }
    }

    @Test(arguments: ["npz/stored.npz", "npz/deflated.npz"])
    func everyFlippedByteIsAnErrorOrTheSameData(_ fixture: String) throws {
        let original = try NPZFormat.read(contentsOf: Repository.fixture("formats/" + fixture))
        let whole = try bytes(of: Repository.fixture("formats/" + fixture))
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        var accepted = 0
        for offset in 0..<whole.count {
            var copy = whole
            copy[offset] ^= 0x5A
            let url = folder.file("flip.npz")
            try Data(copy).write(to: url)
            do {
                let read = try NPZFormat.read(contentsOf: url)
                // Some bytes carry nothing checked (timestamps, version-made-by): then the data must be unchanged.
                #expect(read == original, "flip at \(offset) changed the data without an error")
                accepted += 1
            } catch is TensorFileError {
            }
        }
        #expect(accepted < whole.count / 2)
    }

    @Test func corruptDataGivesAChecksumMismatchNamingTheEntry() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let url = folder.file("model.npz")
        try NPZFormat.write(StateDict(tensors: ["w": try Tensor(shape: [4], elements: [Float(1), 2, 3, 4])]), to: url)
        var data = try bytes(of: url)
        let needle: [UInt8] = [0, 0, 0x80, 0x3F]  // 1.0 as float32
        let at = data.indices.first { Array(data[$0..<min($0 + 4, data.count)]) == needle }!
        data[at + 3] = 0x40
        try Data(data).write(to: url)
        let error = fileError("corrupt data") { _ = try NPZFormat.read(contentsOf: url) }
        #expect(error?.problem.kind == "checksumMismatch")
        #expect(error?.tensor == "w")
    }

    /// An archive with one entry written by our own zip writer, named and filled as the test wants.
    func archive(names: [String], content: [UInt8], compress: Bool = false, in folder: TemporaryFolder) throws -> URL {
        let url = folder.file("crafted.npz")
        try AtomicOutput.write(to: url.path) { file in
            var zip = ZipWriter(file: file)
            for name in names {
                try content.withUnsafeBytes { try zip.add(name: name, parts: [$0], compress: compress) }
            }
            try zip.finish()
        }
        return url
    }

    static let unsafeNames: [[String]] = [["../evil.npy"], ["/abs.npy"], ["a/../../b.npy"], ["C:\\x.npy"], ["w.npy", "w.npy"]]

    @Test(arguments: unsafeNames)
    func pathTricksAndDuplicatesAreRefused(_ names: [String]) throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let npy = NPYHeader.encode(descr: "<f4", shape: [1]) + [0, 0, 0, 0]
        let url = try archive(names: names, content: npy, in: folder)
        #expect(fileProblem { _ = try NPZFormat.read(contentsOf: url) }?.kind == "unsafeName")
    }

    @Test func entryThatIsNotNPYIsRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let url = try archive(names: ["readme.txt"], content: Array("hello".utf8), in: folder)
        #expect(fileProblem { _ = try NPZFormat.read(contentsOf: url) }?.kind == "unsupportedFeature")
    }

    @Test func declaredSizeBeyondDeflatesReachIsRefusedBeforeInflating() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let npy = NPYHeader.encode(descr: "<f4", shape: [1]) + [0, 0, 0, 0]
        let url = try archive(names: ["w.npy"], content: npy, compress: true, in: folder)
        // Patch the central directory's uncompressed size to 1 TiB (through a ZIP64 field is not needed: 4 GiB - 1).
        var data = try bytes(of: url)
        let central = data.indices.last { data[$0] == 0x50 && Array(data[$0..<$0 + 4]) == [0x50, 0x4B, 0x01, 0x02] }!
        for i in 0..<4 { data[central + 24 + i] = 0xFE }
        try Data(data).write(to: url)
        #expect(fileProblem { _ = try NPZFormat.read(contentsOf: url) }?.kind == "tooLarge")
    }

    @Test func entryThatInflatesPastItsDeclaredSizeIsAnError() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        // A valid NPY of 4 floats followed by 4000 zero bytes, declared as only its NPY part.
        let npy = NPYHeader.encode(descr: "<f4", shape: [4]) + [UInt8](repeating: 0, count: 16)
        let url = try archive(names: ["w.npy"], content: npy + [UInt8](repeating: 0, count: 4000), compress: true, in: folder)
        var data = try bytes(of: url)
        let declared = UInt32(npy.count)
        for signature in [[0x50, 0x4B, 0x03, 0x04] as [UInt8], [0x50, 0x4B, 0x01, 0x02]] {
            let at = data.indices.first { Array(data[$0..<min($0 + 4, data.count)]) == signature }!
            let field = signature[2] == 3 ? at + 22 : at + 24
            for i in 0..<4 { data[field + i] = UInt8(truncatingIfNeeded: declared >> (8 * UInt32(i))) }
        }
        try Data(data).write(to: url)
        #expect(fileProblem { _ = try NPZFormat.read(contentsOf: url) }?.kind == "malformed")
    }

    @Test func reservedMetadataNameCannotBeATensor() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let dict = StateDict(tensors: ["__metadata__": try Tensor(zeros: .float32, shape: [1])])
        #expect(fileProblem { try NPZFormat.write(dict, to: folder.file("m.npz")) }?.kind == "cannotStore")
    }
}
