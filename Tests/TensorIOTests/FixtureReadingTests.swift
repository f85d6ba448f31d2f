import Foundation
import Testing
import TestSupport
@testable import TensorIO

/// Every file numpy and h5py wrote reads back with identical dtypes, shapes, bytes and metadata.
struct FixtureReadingTests {
    static let files = Manifest.formats.files.keys.sorted()

    @Test(arguments: files)
    func fixtureReadsExactlyAsNumpyWroteIt(_ relative: String) throws {
        let expected = Manifest.formats.files[relative]!
        let stateDict = try TensorFile.read(contentsOf: Repository.fixture("formats/" + relative))
        try expectTensors(of: stateDict, match: expected)
        #expect(Dictionary(uniqueKeysWithValues: stateDict.metadata.elements.map { ($0.key, $0.value) }) == expected.metadata)
    }

    @Test(arguments: Manifest.formats.refused.keys.sorted())
    func refusedDTypeNamesTheFileAndTheType(_ relative: String) throws {
        let url = Repository.fixture("formats/" + relative)
        if let error = fileError(relative, { _ = try TensorFile.read(contentsOf: url) }) {
            let reason = Manifest.formats.refused[relative]!
            let kind = reason.hasSuffix("_link") ? "refusedLink" : reason == "too_large" ? "tooLarge" : "unsupportedDType"
            #expect(error.problem.kind == kind, "\(error)")
            #expect(error.description.contains(relative))
            #expect(!error.description.contains("\n"))
        }
    }

    /// The two tests above run once per entry of Fixtures/formats/manifest.json: without this count, a manifest
    /// emptied or cut short would make them skip and `swift test` still pass.
    @Test func manifestListsEveryFixture() throws {
        // 44 files read and 10 refused today (tools/make_fixtures.py); update the counts when fixtures are added.
        #expect(Self.files.count == 44)
        #expect(Manifest.formats.refused.count == 10)
        let root = Repository.fixture("formats")
        let walker = try #require(FileManager.default.enumerator(atPath: root.path))
        var onDisk: [String] = []
        while let relative = walker.nextObject() as? String {
            var isFolder: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: root.appending(path: relative).path, isDirectory: &isFolder)
            if !isFolder.boolValue, relative != "manifest.json" { onDisk.append(relative) }
        }
        #expect(onDisk.sorted() == (Self.files + Manifest.formats.refused.keys).sorted())
    }

    @Test func floatValuesWidenHalfAndBFloat16Exactly() throws {
        let half = try TensorFile.read(contentsOf: Repository.fixture("formats/npy/f2_le.npy"))["f2_le"]!
        let values = try half.floatValues()
        #expect(values[0] == -2.75)
        #expect(values[2] == .infinity)
        #expect(values[3].isNaN)
        #expect(values[4] == 65504)
        let bf16 = try TensorFile.read(contentsOf: Repository.fixture("formats/h5/bfloat16.h5"))["bf16"]!
        #expect(try bf16.floatValues() == [1, -2, 0, -0.0, .infinity, 0.15625])
    }

    @Test func int64RefusesInexactWideningToDouble() throws {
        let tensor = try TensorFile.read(contentsOf: Repository.fixture("formats/npy/i8_le.npy"))["i8_le"]!
        #expect(throws: TensorError.inexactWidening(from: .int64, to: "Double")) { try tensor.doubleValues() }
    }
}
