import Foundation
import OrderedCollections
import Testing
import TestSupport
@testable import TensorIO

/// A safetensors file put together byte by byte: a header length (the JSON's by default), the JSON, the buffer.
struct CraftedSafeTensors: Sendable, CustomTestStringConvertible {
    let label: String
    let header: [UInt8]
    let buffer: [UInt8]
    let declaredLength: UInt64?
    /// The `problem.kind` reading must give, and the tensor it must name (nil: none).
    let kind: String
    let tensor: String?

    init(_ label: String, _ header: String, buffer: [UInt8] = [], declaredLength: UInt64? = nil, kind: String, tensor: String? = nil) {
        self.init(label, Array(header.utf8), buffer: buffer, declaredLength: declaredLength, kind: kind, tensor: tensor)
    }

    init(_ label: String, _ header: [UInt8], buffer: [UInt8] = [], declaredLength: UInt64? = nil, kind: String, tensor: String? = nil) {
        self.label = label
        self.header = header
        self.buffer = buffer
        self.declaredLength = declaredLength
        self.kind = kind
        self.tensor = tensor
    }

    var bytes: [UInt8] {
        var result: [UInt8] = []
        result.appendLittleEndian(declaredLength ?? UInt64(header.count))
        return result + header + buffer
    }

    var testDescription: String { label }
}

struct SafeTensorsTests {
    static let manifest: Manifest = {
        let data = try! Data(contentsOf: Repository.fixture("safetensors/manifest.json"))
        return try! JSONDecoder().decode(Manifest.self, from: data)
    }()

    static var fixtureNames: [String] { manifest.files.keys.sorted() }

    static func fixture(_ name: String) -> URL { Repository.fixture("safetensors/" + name) }

    // MARK: - Files the safetensors package wrote

    @Test(arguments: fixtureNames)
    func fixtureWrittenByThePackageReadsWithIdenticalTensorsAndMetadata(_ name: String) throws {
        let expected = try #require(Self.manifest.files[name]).stateDict()
        let read = try SafeTensorsFormat.read(contentsOf: Self.fixture(name))
        #expect(read.names == expected.names)
        for (tensorName, tensor) in expected.tensors {
            #expect(read[tensorName] == tensor, "\(tensorName): got \(read[tensorName].map { "\($0)" } ?? "nothing"), expected \(tensor)")
        }
        // The fixture maker keeps the metadata keys in sorted order, as the manifest lists them.
        #expect(read.metadata == expected.metadata)
    }

    @Test(arguments: fixtureNames)
    func rewritingAFixtureGivesThePackagesExactBytes(_ name: String) throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let url = folder.file(name)
        try SafeTensorsFormat.write(try SafeTensorsFormat.read(contentsOf: Self.fixture(name)), to: url)
        #expect(try bytes(of: url) == bytes(of: Self.fixture(name)))
    }

    @Test func rnnFixtureHoldsTheTensorsOfTheNPZModel() throws {
        let npz = try NPZFormat.read(contentsOf: Repository.fixture("torch/l2_bi_relu_f32/model.npz"))
        let read = try SafeTensorsFormat.read(contentsOf: Self.fixture("rnn_relu.safetensors"))
        #expect(Dictionary(uniqueKeysWithValues: read.tensors.elements.map { ($0.key, $0.value) })
            == Dictionary(uniqueKeysWithValues: npz.tensors.elements.map { ($0.key, $0.value) }))
        #expect(read.metadata == ["nonlinearity": "relu"])
    }

    // MARK: - Our files

    @Test func roundTripKeepsEveryTensorIncludingBFloat16ScalarAndEmpty() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let original = try sampleStateDict(includeBFloat16: true)
        #expect(original["scalar"]?.shape == [] && original["empty"]?.shape == [0, 3] && original["bf16"] != nil)
        let url = folder.file("sample.safetensors")
        try SafeTensorsFormat.write(original, to: url)
        let read = try SafeTensorsFormat.read(contentsOf: url)
        // safetensors orders tensors by dtype and name, not by the caller's order: compare by name.
        #expect(Set(read.names) == Set(original.names))
        for (name, tensor) in original.tensors { #expect(read[name] == tensor, "\(name)") }
        #expect(read.metadata == original.metadata)
    }

    @Test func tensorsComeOutInTheOrderOfTheirDataWithEmptyTensorsFirst() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let header = #"{"late":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},"z_empty":{"dtype":"F32","shape":[0],"data_offsets":[2,2]},"#
            + #""early":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"a_empty":{"dtype":"I64","shape":[3,0],"data_offsets":[2,2]}}"#
        let url = folder.file("order.safetensors")
        try Data(CraftedSafeTensors("order", header, buffer: [1, 2, 3, 4], kind: "").bytes).write(to: url)
        let read = try SafeTensorsFormat.read(contentsOf: url)
        #expect(read.names == ["early", "a_empty", "z_empty", "late"])
        #expect(try read["late"]?.elements(as: UInt8.self) == [3, 4])
    }

    @Test func sameTensorsInAnyOrderGiveTheSameBytes() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let original = try sampleStateDict(includeBFloat16: true)
        var reversed = original
        reversed.tensors = OrderedDictionary(uniqueKeysWithValues: original.tensors.elements.reversed().map { ($0.key, $0.value) })
        try SafeTensorsFormat.write(original, to: folder.file("a.safetensors"))
        try SafeTensorsFormat.write(reversed, to: folder.file("b.safetensors"))
        #expect(try bytes(of: folder.file("a.safetensors")) == bytes(of: folder.file("b.safetensors")))
    }

    @Test func everyTensorStartsAlignedToItsElementSize() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let url = folder.file("aligned.safetensors")
        try SafeTensorsFormat.write(try sampleStateDict(includeBFloat16: true), to: url)
        let header = try SafeTensorsHeader.read(from: try InputFile(path: url.path))
        #expect(header.dataOffset % 8 == 0)
        for entry in header.entries { #expect(entry.begin % entry.dtype.byteSize == 0, "\(entry.name) at \(entry.begin)") }
    }

    @Test func reservedMetadataNameCannotBeATensor() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let dict = StateDict(tensors: ["__metadata__": try Tensor(zeros: .float32, shape: [1])])
        let url = folder.file("m.safetensors")
        #expect(fileProblem { try SafeTensorsFormat.write(dict, to: url) }?.kind == "cannotStore")
        #expect(try folder.contents().isEmpty)
    }

    /// Our output, read by the safetensors package (tools/check_safetensors.py, which reuses
    /// tools/check_interop.py's comparison). Without Python and the package the test fails rather than skips.
    @Test func thePythonPackageReadsWhatWeWrite() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        var manifest: [String: Any] = [:]
        func write(_ name: String, _ dict: StateDict) throws {
            let url = folder.file(name)
            try SafeTensorsFormat.write(dict, to: url)
            // The manifest lists tensors in the order of their data, which is the order our reader returns.
            let order = try SafeTensorsFormat.read(contentsOf: url).names
            manifest[name] = [
                "tensors": try order.map { name in
                    let tensor = try #require(dict[name])
                    return ["name": name, "dtype": tensor.dtype.rawValue, "shape": tensor.shape,
                            "hex": tensor.withUnsafeBytes { $0.map { String(format: "%02x", $0) }.joined() }] as [String: Any]
                },
                "metadata": Dictionary(uniqueKeysWithValues: dict.metadata.elements.map { ($0.key, $0.value) }),
            ]
        }
        try write("sample.safetensors", try sampleStateDict(includeBFloat16: true))
        var everything = StateDict()
        for (relative, file) in Manifest.formats.files.sorted(by: { $0.key < $1.key }) {
            for (name, tensor) in try file.stateDict().tensors {
                everything.tensors["\(relative.replacingOccurrences(of: "/", with: "_")).\(name)"] = tensor
            }
        }
        everything.metadata = try sampleStateDict().metadata
        try write("everything.safetensors", everything)
        for name in Self.fixtureNames {
            try write("ours_" + name, try SafeTensorsFormat.read(contentsOf: Self.fixture(name)))
        }
        try write("metadata_only.safetensors", StateDict(metadata: ["k": "v", "ü": "\u{1}\t"]))
        let manifestURL = folder.file("manifest.json")
        try JSONSerialization.data(withJSONObject: ["files": manifest], options: [.sortedKeys]).write(to: manifestURL)

        let (status, text) = try PythonTool.run("check_safetensors.py", [manifestURL.path])
        #expect(status == 0, "\(text)")
        #expect(text.contains("interop: \(manifest.count) files OK"), "\(text)")
    }

    // MARK: - Refused files

    static let crafted: [CraftedSafeTensors] = {
        func w(_ dtype: String, _ shape: String, _ begin: Int, _ end: Int) -> String {
            #"{"dtype":"\#(dtype)","shape":\#(shape),"data_offsets":[\#(begin),\#(end)]}"#
        }
        let eight = [UInt8](repeating: 0, count: 8)
        return [
            CraftedSafeTensors("header length larger than the file", "{}", declaredLength: 1000, kind: "truncated"),
            CraftedSafeTensors("header length 2^63", "{}", declaredLength: 1 << 63, kind: "tooLarge"),
            CraftedSafeTensors("header length just above the 100 MB limit", "{}", declaredLength: 100_000_001, kind: "tooLarge"),
            CraftedSafeTensors("header length 0", "", kind: "malformed"),
            CraftedSafeTensors("header not JSON", "{not json}", kind: "malformed"),
            CraftedSafeTensors("header JSON an array", "[1, 2]", kind: "malformed"),
            CraftedSafeTensors("header JSON followed by garbage", "{}x", kind: "malformed"),
            CraftedSafeTensors("header not UTF-8", [0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x7B, 0x7D, 0x7D], kind: "malformed"),
            CraftedSafeTensors("header nested 100000 deep", String(repeating: "[", count: 100_000), kind: "malformed"),
            CraftedSafeTensors("entry not an object", #"{"w":[1]}"#, kind: "malformed", tensor: "w"),
            CraftedSafeTensors("missing data_offsets", #"{"w":{"dtype":"F32","shape":[2]}}"#, buffer: eight, kind: "malformed", tensor: "w"),
            CraftedSafeTensors("missing dtype", #"{"w":{"shape":[2],"data_offsets":[0,8]}}"#, buffer: eight, kind: "malformed", tensor: "w"),
            CraftedSafeTensors("shape of floats", #"{"w":\#(w("F32", "[2.0]", 0, 8))}"#, buffer: eight, kind: "malformed", tensor: "w"),
            CraftedSafeTensors("data_offsets end before begin", #"{"w":\#(w("U8", "[0]", 8, 0))}"#, buffer: eight, kind: "malformed", tensor: "w"),
            CraftedSafeTensors("offsets overlapping", #"{"a":\#(w("F32", "[2]", 0, 8)),"b":\#(w("F32", "[2]", 4, 12))}"#,
                               buffer: eight + [0, 0, 0, 0], kind: "malformed", tensor: "b"),
            CraftedSafeTensors("gap between tensors", #"{"a":\#(w("F32", "[1]", 0, 4)),"b":\#(w("F32", "[1]", 8, 12))}"#,
                               buffer: eight + [0, 0, 0, 0], kind: "malformed", tensor: "b"),
            CraftedSafeTensors("gap before the first tensor", #"{"a":\#(w("U8", "[4]", 4, 8))}"#, buffer: eight, kind: "malformed", tensor: "a"),
            CraftedSafeTensors("span other than shape times size", #"{"w":\#(w("F32", "[3]", 0, 8))}"#, buffer: eight, kind: "malformed", tensor: "w"),
            CraftedSafeTensors("shape product overflowing", #"{"w":\#(w("I8", "[4611686018427387904,4]", 0, 8))}"#,
                               buffer: eight, kind: "invalidShape", tensor: "w"),
            CraftedSafeTensors("byte count overflowing", #"{"w":\#(w("F64", "[2305843009213693952]", 0, 8))}"#,
                               buffer: eight, kind: "invalidShape", tensor: "w"),
            CraftedSafeTensors("dimension beyond 64 bits", #"{"w":\#(w("U8", "[18446744073709551616]", 0, 8))}"#,
                               buffer: eight, kind: "malformed", tensor: "w"),
            CraftedSafeTensors("negative dimension", #"{"w":\#(w("U8", "[-1,2]", 0, 8))}"#, buffer: eight, kind: "invalidShape", tensor: "w"),
            CraftedSafeTensors("dtype F8_E4M3", #"{"w":\#(w("F8_E4M3", "[8]", 0, 8))}"#, buffer: eight, kind: "unsupportedDType", tensor: "w"),
            CraftedSafeTensors("dtype C64", #"{"c":\#(w("C64", "[1]", 0, 8))}"#, buffer: eight, kind: "unsupportedDType", tensor: "c"),
            CraftedSafeTensors("trailing bytes after the buffer", #"{"w":\#(w("U8", "[4]", 0, 4))}"#, buffer: eight, kind: "trailingBytes"),
            CraftedSafeTensors("trailing bytes after an empty header", "{}", buffer: [0], kind: "trailingBytes"),
            CraftedSafeTensors("truncated buffer", #"{"w":\#(w("F64", "[2]", 0, 16))}"#, buffer: eight, kind: "truncated"),
            CraftedSafeTensors("metadata value a number", #"{"__metadata__":{"k":1}}"#, kind: "malformed"),
            CraftedSafeTensors("metadata not an object", #"{"__metadata__":"k"}"#, kind: "malformed"),
            CraftedSafeTensors("metadata key twice", #"{"__metadata__":{"k":"1","k":"2"}}"#, kind: "malformed"),
            CraftedSafeTensors("tensor name twice", #"{"w":\#(w("U8", "[4]", 0, 4)),"w":\#(w("U8", "[4]", 4, 8))}"#,
                               buffer: eight, kind: "duplicateName"),
            CraftedSafeTensors("BOOL byte 2", #"{"m":\#(w("BOOL", "[8]", 0, 8))}"#, buffer: [0, 1, 0, 1, 2, 1, 0, 0], kind: "malformed", tensor: "m"),
            CraftedSafeTensors("lone surrogate in a name", #"{"\ud800":\#(w("U8", "[0]", 0, 0))}"#, kind: "malformed"),
        ]
    }()

    @Test(arguments: crafted)
    func malformedFileIsRefusedWithTheRightProblem(_ file: CraftedSafeTensors) throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let url = folder.file("bad.safetensors")
        try Data(file.bytes).write(to: url)
        if let error = fileError(url.lastPathComponent, { _ = try SafeTensorsFormat.read(contentsOf: url) }) {
            #expect(error.problem.kind == file.kind, "\(error)")
            #expect(error.tensor == file.tensor, "\(error)")
            #expect(error.path == url.path)
        }
    }

    @Test func fileShorterThanTheLengthFieldIsTruncated() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let url = folder.file("short.safetensors")
        try Data([2, 0, 0]).write(to: url)
        #expect(fileProblem { _ = try SafeTensorsFormat.read(contentsOf: url) } == .truncated(expected: 8, found: 3))
    }

    @Test(arguments: ["dtypes.safetensors", "metadata.safetensors"])
    func everyTruncationIsAnErrorNeverACrash(_ name: String) throws {
        let whole = try bytes(of: Self.fixture(name))
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let url = folder.file("cut.safetensors")
        for length in 0..<whole.count {
            try Data(whole[..<length]).write(to: url)
            #expect(fileProblem { _ = try SafeTensorsFormat.read(contentsOf: url) } != nil, "cut at \(length)")
        }
    }

    // MARK: - Recognising the format

    @Test func safetensorsFilesAreRecognisedByTheirFirstBytes() throws {
        for name in Self.fixtureNames {
            #expect(SafeTensorsFormat.matches(try InputFile(path: Self.fixture(name).path)), "\(name)")
        }
    }

    @Test func otherFormatsAreNotMistakenForSafetensors() throws {
        for name in Manifest.formats.files.keys.sorted() + Manifest.formats.refused.keys.sorted() {
            #expect(!SafeTensorsFormat.matches(try InputFile(path: Repository.fixture("formats/" + name).path)), "\(name)")
        }
    }
}
