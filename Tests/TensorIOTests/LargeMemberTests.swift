import Foundation
import Testing
import TestSupport
@testable import TensorIO

#if canImport(Glibc)
import Glibc
#endif

/// NPZ members large enough for the fast paths: stored data read on all cores in 1 MiB pieces whose CRC-32s are
/// joined, deflated data inflated whole by libdeflate into the buffer the tensor keeps, storage with huge pages.
struct LargeMemberTests {
    /// 9 MiB and 4 bytes of uint32: above the concurrent-read threshold (8 MiB), not a whole number of pieces.
    static let largeCount = (9 << 20) / 4 + 1
    /// 5 MiB: above the size from which storage is a mapping of its own (4 MiB), below the concurrent threshold.
    static let mediumCount = (5 << 20) / 4

    /// Distinct, poorly compressible values, so that a piece read into the wrong place cannot go unnoticed.
    static func pattern(count: Int, seed: UInt32) -> Tensor {
        var tensor = try! Tensor(zeros: .uint32, shape: [count])
        tensor.withUnsafeMutableBytes { bytes in
            let values = bytes.bindMemory(to: UInt32.self)
            var state = seed
            for index in values.indices {
                state = state &* 1_664_525 &+ 1_013_904_223
                values[index] = state
            }
        }
        return tensor
    }

    static func isAligned(_ tensor: Tensor) -> Bool {
        tensor.withUnsafeBytes { Int(bitPattern: $0.baseAddress) % TensorStorage.alignment == 0 }
    }

    @Test(arguments: [false, true])
    func largeTensorsRoundTripExactlyAndAligned(compress: Bool) throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        var original = StateDict()
        original["large"] = Self.pattern(count: Self.largeCount, seed: 1)
        original["medium"] = try Tensor(shape: [1024, Self.mediumCount / 1024], elements: Self.pattern(count: Self.mediumCount, seed: 2).elements(as: UInt32.self))
        original["small"] = try Tensor(shape: [3], elements: [Float(1), -2, 3.5])
        original.metadata["kind"] = "large"
        let url = folder.file("large.npz")
        try NPZFormat.write(original, to: url, options: WriteOptions(compress: compress))
        let read = try NPZFormat.read(contentsOf: url)
        #expect(read == original)
        #expect(read.tensors.values.allSatisfy(Self.isAligned))
    }

    @Test func corruptionInALatePieceOfAStoredMemberIsAChecksumMismatch() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let url = folder.file("stored.npz")
        try NPZFormat.write(StateDict(tensors: ["w": Self.pattern(count: Self.largeCount, seed: 3)]), to: url)
        var data = try bytes(of: url)
        data[(8 << 20) + 12345] ^= 0x10  // inside the 9th of 10 pieces
        try Data(data).write(to: url)
        let error = fileError("corrupt data") { _ = try NPZFormat.read(contentsOf: url) }
        #expect(error?.problem.kind == "checksumMismatch")
        #expect(error?.tensor == "w")
    }

    @Test(arguments: [100, 1 << 20, 4 << 20])
    func corruptionInALargeDeflatedMemberIsAnErrorNamingIt(at offset: Int) throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let url = folder.file("deflated.npz")
        try NPZFormat.write(StateDict(tensors: ["w": Self.pattern(count: Self.mediumCount, seed: 4)]), to: url, options: WriteOptions(compress: true))
        var data = try bytes(of: url)
        data[offset] ^= 0x01
        try Data(data).write(to: url)
        let error = fileError("corrupt data") { _ = try NPZFormat.read(contentsOf: url) }
        #expect(["checksumMismatch", "malformed", "truncated"].contains(error?.problem.kind ?? ""))
        #expect(error?.tensor == "w")
    }

    /// An NPY member whose header is padded to 16 bytes (numpy before 1.x did so), not 64.
    static func npyWithShortPadding(descr: String, count: Int, data: [UInt8]) -> [UInt8] {
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(count),), }"
        while (10 + dict.utf8.count + 1) % 16 != 0 || (10 + dict.utf8.count + 1) % 64 == 0 { dict += " " }
        dict += "\n"
        var bytes = NPYHeader.magic + [1, 0]
        bytes.appendLittleEndian(UInt16(dict.utf8.count))
        return bytes + Array(dict.utf8) + data
    }

    @Test(arguments: ["<u4", ">u4"])
    func inflatedDataAfterAnUnalignedHeaderIsAlignedAndInNativeOrder(descr: String) throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let values = try Self.pattern(count: Self.mediumCount, seed: 5).elements(as: UInt32.self)
        var data: [UInt8] = []
        data.reserveCapacity(values.count * 4)
        for value in values { data.appendLittleEndian(descr == "<u4" ? value : value.byteSwapped) }
        let member = Self.npyWithShortPadding(descr: descr, count: values.count, data: data)
        #expect((member.count - data.count) % 64 != 0)
        let url = folder.file("old.npz")
        try AtomicOutput.write(to: url.path) { file in
            var zip = ZipWriter(file: file)
            try member.withUnsafeBytes { try zip.add(name: "w.npy", parts: [$0], compress: true) }
            try zip.finish()
        }
        let tensor = try #require(try NPZFormat.read(contentsOf: url).tensors["w"])
        #expect(try tensor.elements(as: UInt32.self) == values)
        #expect(Self.isAligned(tensor))
    }

    @Test func firstFailingMemberInArchiveOrderIsReportedThoughLargerOnesInflateFirst() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let url = folder.file("two.npz")
        var dict = StateDict()
        dict["a"] = try Tensor(shape: [4], elements: [Float(1), 2, 3, 4])
        dict["b"] = Self.pattern(count: Self.mediumCount, seed: 6)
        try NPZFormat.write(dict, to: url, options: WriteOptions(compress: true))
        // Both members' CRC-32s in the central directory are wrong.
        var data = try bytes(of: url)
        for at in data.indices.dropLast(4) where Array(data[at..<(at + 4)]) == [0x50, 0x4B, 0x01, 0x02] {
            data[at + 16] ^= 0xFF
        }
        try Data(data).write(to: url)
        let error = fileError("members with wrong checksums") { _ = try NPZFormat.read(contentsOf: url) }
        #expect(error?.problem.kind == "checksumMismatch")
        #expect(error?.tensor == "a")
    }

    @Test func fileCutShortAfterOpeningGivesTruncatedForTheWholeRead() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let url = folder.file("data.bin")
        let size = 10 << 20
        try Data(count: size).write(to: url)
        let file = try InputFile(path: url.path)
        #expect(truncate(url.path, off_t(9 << 20)) == 0)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
        defer { buffer.deallocate() }
        let problem = fileProblem { try file.read(into: buffer, at: 0, pieceSize: 1 << 20) { _, _ in } }
        #expect(problem == .truncated(expected: size, found: 9 << 20))
    }

    @Test func largeStorageStartsZeroedAlignedAndIsCopiedOnWrite() throws {
        let tensor = try Tensor(zeros: .uint8, shape: [TensorStorage.mappingThreshold + 1])
        #expect(tensor.withUnsafeBytes { $0.allSatisfy { $0 == 0 } })
        #expect(Self.isAligned(tensor))
        var copy = tensor
        copy.withUnsafeMutableBytes { $0[0] = 1 }
        #expect(tensor.withUnsafeBytes { $0[0] } == 0)
        #expect(copy.withUnsafeBytes { $0[0] } == 1)
    }
}
