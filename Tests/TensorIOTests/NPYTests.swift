import Foundation
import Testing
import TestSupport
@testable import TensorIO

/// NPY bytes with a hand-written header, for the malformed cases numpy itself would never write.
func handmadeNPY(header: String, data: [UInt8] = [], version: UInt8 = 1) -> [UInt8] {
    var text = Array(header.utf8) + [0x0A]
    var bytes = NPYHeader.magic + [version, 0]
    if version == 1 {
        bytes.appendLittleEndian(UInt16(text.count))
    } else {
        bytes.appendLittleEndian(UInt32(text.count))
    }
    bytes += text
    text.removeAll()
    return bytes + data
}

struct NPYTests {
    /// Fixtures numpy wrote from little-endian C-order arrays with np.save: writing what we read must give the same bytes.
    static let numpySaved = [
        "f2_le", "f4_le", "f8_le", "i1", "i2_le", "i4_le", "i8_le", "u1", "u2_le", "u4_le", "u8_le", "b1",
        "scalar_f4", "empty_f4", "empty_0d_dim", "rank4_f4", "f4_1d", "long_shape",
    ]

    @Test(arguments: numpySaved)
    func writtenBytesMatchNumpySave(_ name: String) throws {
        let original = Repository.fixture("formats/npy/\(name).npy")
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let copy = folder.file("\(name).npy")
        try NPYFormat.write(try NPYFormat.read(contentsOf: original), to: copy)
        #expect(try bytes(of: copy) == bytes(of: original))
    }

    @Test func headerOutgrowingVersion1UsesVersion2() {
        let header = NPYHeader.encode(descr: "<f4", shape: [Int](repeating: 1, count: 25000))
        #expect(header[6] == 2)
        #expect(header.count % 64 == 0)
        #expect(header.last == 0x0A)
    }

    @Test func fortranOrderIsReorderedToRowMajor() throws {
        let fortran = try NPYFormat.read(contentsOf: Repository.fixture("formats/npy/f4_fortran.npy"))["f4_fortran"]!
        let expected = Manifest.formats.files["npy/f4_fortran.npy"]!.tensors[0]
        #expect(fortran.shape == [3, 4])
        #expect(try fortran.elements(as: Float.self) == expected.tensor().elements(as: Float.self))
    }

    @Test func everyTruncationIsATruncatedError() throws {
        let whole = try bytes(of: Repository.fixture("formats/npy/f8_le.npy"))
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        for length in 0..<whole.count {
            let url = folder.file("cut.npy")
            try Data(whole[..<length]).write(to: url)
            let problem = fileProblem { _ = try NPYFormat.read(contentsOf: url) }
            guard case .truncated = problem else {
                Issue.record("cut at \(length): \(String(describing: problem))")
                continue
            }
        }
    }

    @Test func extraBytesAfterTheDataAreAnError() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let url = folder.file("long.npy")
        try Data(try bytes(of: Repository.fixture("formats/npy/f4_le.npy")) + [1, 2, 3]).write(to: url)
        #expect(fileProblem { _ = try NPYFormat.read(contentsOf: url) } == .trailingBytes(3))
    }

    static let badHeaders: [(String, String)] = [
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 2), }", "invalidShape"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904), }", "invalidShape"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 1000), }", "truncated"),
        ("{'descr': '<f3', 'fortran_order': False, 'shape': (1,), }", "unsupportedDType"),
        ("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", "unsupportedDType"),
        ("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", "unsupportedDType"),
        ("{'descr': '<f4', 'shape': (1,), }", "malformed"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", "malformed"),
        ("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }", "malformed"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': [1], }", "malformed"),
        ("__import__('os').system('true')", "malformed"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), ", "malformed"),
        ("", "malformed"),
    ]

    @Test(arguments: badHeaders)
    func badHeaderGivesItsNamedError(_ header: String, _ kind: String) throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let url = folder.file("bad.npy")
        try Data(handmadeNPY(header: header, data: [0, 0, 0, 0])).write(to: url)
        let problem = try #require(fileProblem { _ = try NPYFormat.read(contentsOf: url) })
        #expect(problem.kind == kind, "\(problem)")
    }

    @Test func hugeDeclaredHeaderLengthIsRefusedBeforeReading() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let url = folder.file("huge.npy")
        var bytes = NPYHeader.magic + [2, 0]
        bytes.appendLittleEndian(UInt32.max)
        try Data(bytes + [0x7B]).write(to: url)
        guard case .tooLarge = fileProblem({ _ = try NPYFormat.read(contentsOf: url) }) else {
            Issue.record("a 4 GiB header was not refused")
            return
        }
    }

    @Test func unknownVersionIsRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let url = folder.file("v9.npy")
        try Data(handmadeNPY(header: "{}", version: 9)).write(to: url)
        guard case .unsupportedFeature = fileProblem({ _ = try NPYFormat.read(contentsOf: url) }) else {
            Issue.record("version 9 was accepted")
            return
        }
    }

    @Test func boolBytesOtherThanZeroOrOneAreRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let url = folder.file("bool.npy")
        try Data(handmadeNPY(header: "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", data: [1, 2])).write(to: url)
        guard case .malformed = fileProblem({ _ = try NPYFormat.read(contentsOf: url) }) else {
            Issue.record("bool 2 was accepted")
            return
        }
    }

    @Test func bfloat16CannotBeWrittenAndNoFileIsLeft() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let tensor = try Tensor(shape: [2], elements: [BFloat16(1), BFloat16(2)])
        let problem = fileProblem { try NPYFormat.write(StateDict(tensors: ["w": tensor]), to: folder.file("w.npy")) }
        guard case .cannotStore = problem else { Issue.record("\(String(describing: problem))"); return }
        #expect(try folder.contents().isEmpty)
    }

    @Test func pythonLiteralParserAcceptsWhatReprWrites() throws {
        let literal = try PythonLiteral.parse("{'a': (1, 2,), \"b\": [True, None, -3L], 'c': 'x\\'y\\u00e9', }")
        #expect(literal == .dict([
            ("a", .tuple([.integer(1), .integer(2)])),
            ("b", .list([.boolean(true), .none, .integer(-3)])),
            ("c", .string("x'yé")),
        ]))
    }
}
