import Foundation
import Testing
import TestSupport
@testable import TensorIO

extension Manifest {
    /// What tools/make_checkpoint_fixtures.py says each checkpoint holds (torch.load's own reading, flattened).
    static let checkpoints: Manifest = {
        let data = try! Data(contentsOf: Repository.fixture("checkpoints/expected.json"))
        return try! JSONDecoder().decode(Manifest.self, from: data)
    }()
}

/// Pickle bytes written opcode by opcode, for checkpoints no torch would write.
struct PickleBuilder {
    var bytes: [UInt8] = [PickleOpcode.proto.rawValue, 2]

    mutating func op(_ opcode: PickleOpcode) { bytes.append(opcode.rawValue) }

    mutating func string(_ text: String) {
        op(.binUnicode)
        bytes.appendLittleEndian(UInt32(text.utf8.count))
        bytes += Array(text.utf8)
    }

    mutating func int(_ value: Int) {
        if (0...255).contains(value) {
            op(.binInt1)
            bytes.append(UInt8(value))
        } else if let small = Int32(exactly: value) {
            op(.binInt)
            bytes.appendLittleEndian(small)
        } else {
            op(.long1)
            bytes.append(8)
            bytes.appendLittleEndian(Int64(value))
        }
    }

    mutating func global(_ module: String, _ name: String) {
        op(.global)
        bytes += Array("\(module)\n\(name)\n".utf8)
    }

    mutating func tuple(_ body: (inout PickleBuilder) -> Void) {
        op(.mark)
        body(&self)
        op(.tuple)
    }

    mutating func ints(_ values: [Int]) { tuple { for value in values { $0.int(value) } } }

    /// `_rebuild_tensor_v2(('storage', torch.<storage>, key, 'cpu', numel), offset, shape, strides, False, OrderedDict())`.
    mutating func tensor(key: String, storage: String = "FloatStorage", numel: Int, offset: Int = 0, shape: [Int], strides: [Int]) {
        global("torch._utils", "_rebuild_tensor_v2")
        tuple { arguments in
            arguments.tuple { id in
                id.string("storage")
                id.global("torch", storage)
                id.string(key)
                id.string("cpu")
                id.int(numel)
            }
            arguments.op(.binPersID)
            arguments.int(offset)
            arguments.ints(shape)
            arguments.ints(strides)
            arguments.op(.newFalse)
            arguments.global("collections", "OrderedDict")
            arguments.op(.emptyTuple)
            arguments.op(.reduce)
        }
        op(.reduce)
    }

    /// A dict of `items`, each value written by its closure.
    mutating func dict(_ items: [(String, (inout PickleBuilder) -> Void)]) {
        op(.emptyDict)
        op(.mark)
        for (key, value) in items {
            string(key)
            value(&self)
        }
        op(.setItems)
    }

    mutating func finish() -> [UInt8] {
        op(.stop)
        return bytes
    }
}

/// A stored (uncompressed) zip of `entries`, in order, built in memory.
func storedZip(_ entries: [(name: String, data: [UInt8])]) -> [UInt8] {
    var archive: [UInt8] = []
    var central: [UInt8] = []
    for (name, data) in entries {
        var crc = CRC32()
        data.withUnsafeBytes { crc.update($0) }
        let offset = archive.count
        let nameBytes = Array(name.utf8)
        func header(_ bytes: inout [UInt8]) {
            bytes.appendLittleEndian(UInt16(0))  // flags
            bytes.appendLittleEndian(UInt16(0))  // stored
            bytes.appendLittleEndian(UInt32(0))  // time, date
            bytes.appendLittleEndian(crc.value)
            bytes.appendLittleEndian(UInt32(data.count))
            bytes.appendLittleEndian(UInt32(data.count))
            bytes.appendLittleEndian(UInt16(nameBytes.count))
            bytes.appendLittleEndian(UInt16(0))  // extra
        }
        archive.appendLittleEndian(UInt32(ZipDirectory.localHeaderSignature))
        archive.appendLittleEndian(UInt16(20))
        header(&archive)
        archive += nameBytes + data
        central.appendLittleEndian(UInt32(ZipDirectory.centralHeaderSignature))
        central.appendLittleEndian(UInt16(20))
        central.appendLittleEndian(UInt16(20))
        header(&central)
        central += [UInt8](repeating: 0, count: 6)  // comment length, disk, internal attributes
        central.appendLittleEndian(UInt32(0o100644) << 16)  // external attributes: a regular file
        central.appendLittleEndian(UInt32(offset))
        central += nameBytes
    }
    let directoryOffset = archive.count
    archive += central
    archive.appendLittleEndian(UInt32(ZipDirectory.endSignature))
    archive.appendLittleEndian(UInt32(0))  // disks
    archive.appendLittleEndian(UInt16(entries.count))
    archive.appendLittleEndian(UInt16(entries.count))
    archive.appendLittleEndian(UInt32(central.count))
    archive.appendLittleEndian(UInt32(directoryOffset))
    archive.appendLittleEndian(UInt16(0))  // comment
    return archive
}

/// A checkpoint in torch's layout: `archive/data.pkl`, `archive/byteorder`, `archive/data/<key>`, then `extra`.
func checkpointBytes(
    _ pickle: [UInt8], storages: [(key: String, data: [UInt8])] = [], byteorder: String? = "little",
    extra: [(name: String, data: [UInt8])] = []
) -> [UInt8] {
    var entries: [(name: String, data: [UInt8])] = [("archive/data.pkl", pickle)]
    if let byteorder { entries.append(("archive/byteorder", Array(byteorder.utf8))) }
    for (key, data) in storages { entries.append(("archive/data/\(key)", data)) }
    return storedZip(entries + extra)
}

/// The little-endian bytes of `values`.
func littleEndianBytes(_ values: [Float]) -> [UInt8] {
    var bytes: [UInt8] = []
    for value in values { bytes.appendLittleEndian(value.bitPattern) }
    return bytes
}


struct TorchCheckpointTests {
    static let files = Manifest.checkpoints.files.keys.sorted()

    /// Reads `bytes` written to a file named `name` in `folder`.
    func read(_ bytes: [UInt8], in folder: TemporaryFolder, name: String = "model.pt") throws -> StateDict {
        let url = folder.file(name)
        try Data(bytes).write(to: url)
        return try TorchCheckpointFormat.read(contentsOf: url)
    }

    /// The `TensorFileError` reading `bytes` throws (recording an issue when it throws nothing or something else).
    func refusal(_ bytes: [UInt8], in folder: TemporaryFolder, sourceLocation: SourceLocation = #_sourceLocation) -> TensorFileError? {
        let error = fileError(sourceLocation: sourceLocation) { _ = try read(bytes, in: folder) }
        if let error { #expect(!error.description.contains("\n"), sourceLocation: sourceLocation) }
        return error
    }

    /// One float tensor of 4 elements in storage "0", under `name`.
    func singleTensorPickle(name: String = "w", numel: Int = 4, offset: Int = 0, shape: [Int] = [4], strides: [Int] = [1]) -> [UInt8] {
        var pickle = PickleBuilder()
        pickle.dict([(name, { $0.tensor(key: "0", numel: numel, offset: offset, shape: shape, strides: strides) })])
        return pickle.finish()
    }

    @Test(arguments: files)
    func checkpointReadsExactlyAsTorchLoadsIt(_ relative: String) throws {
        let expected = Manifest.checkpoints.files[relative]!
        let stateDict = try TorchCheckpointFormat.read(contentsOf: Repository.fixture("checkpoints/" + relative))
        try expectTensors(of: stateDict, match: expected)
        #expect(stateDict.metadata.isEmpty)
    }

    @Test func nestedCheckpointIsFlattenedWithDotsAndNonTensorsLeftOut() throws {
        let stateDict = try TorchCheckpointFormat.read(contentsOf: Repository.fixture("checkpoints/nested.pt"))
        let names = stateDict.names
        #expect(names.prefix(6) == [
            "model.rnn.weight_ih_l0", "model.rnn.weight_hh_l0", "model.rnn.bias_ih_l0", "model.rnn.bias_hh_l0",
            "model.fc.weight", "model.fc.bias",
        ])
        #expect(names.contains("optimizer.state.0.exp_avg"))
        #expect(stateDict["optimizer.state.5.step"]?.shape == [])
        #expect(!names.contains { $0.hasPrefix("epoch") || $0.hasPrefix("best") || $0.hasPrefix("optimizer.param_groups") })
        // The Adam moments have their parameter's shape.
        #expect(stateDict["optimizer.state.1.exp_avg_sq"]?.shape == stateDict["model.rnn.weight_hh_l0"]?.shape)
    }

    @Test func listsAndTuplesNameTheirTensorsByIndexAndBareTensorsByFile() throws {
        let dtypes = try TorchCheckpointFormat.read(contentsOf: Repository.fixture("checkpoints/dtypes.pt"))
        #expect(dtypes["layers.0"] != nil && dtypes["layers.1.bias"] != nil && dtypes["pair.0"] != nil && dtypes["7"] != nil)
        #expect(!dtypes.names.contains { $0.hasPrefix("numbers") || $0.hasPrefix("note") || $0 == "layers.2" })
        let bare = try TorchCheckpointFormat.read(contentsOf: Repository.fixture("checkpoints/tensor.pt"))
        #expect(bare.names == ["tensor"])
    }

    @Test func stridedViewsAreGatheredIntoRowMajorOrder() throws {
        let views = try TorchCheckpointFormat.read(contentsOf: Repository.fixture("checkpoints/views.pt"))
        let w = try views["w"]!.elements(as: Float.self)  // 3 × 4
        let wt = try views["wt"]!.elements(as: Float.self)  // 4 × 3
        #expect(views["wt"]!.shape == [4, 3])
        for i in 0..<4 { for j in 0..<3 { #expect(wt[i * 3 + j] == w[j * 4 + i]) } }
        #expect(try views["tail"]!.elements(as: Float.self) == Array(w[4...]))
        // cube_view = cube.permute(2, 0, 1)[1:, :, ::2]: element [a, b, c] is cube[b, 2c, a + 1].
        let cube = try views["cube"]!.elements(as: Float.self)  // 2 × 3 × 4
        let view = try views["cube_view"]!.elements(as: Float.self)
        #expect(views["cube_view"]!.shape == [3, 2, 2])
        var expected: [Float] = []
        for a in 0..<3 { for b in 0..<2 { for c in 0..<2 { expected.append(cube[b * 12 + 2 * c * 4 + a + 1]) } } }
        #expect(view == expected)
    }

    @Test func maliciousPickleIsRefusedNamingTheGlobal() throws {
        let reason = try #require(Manifest.checkpoints.refused["malicious.pt"])
        let global = String(reason.dropFirst("global ".count))
        let url = Repository.fixture("checkpoints/malicious.pt")
        let problem = fileProblem { _ = try TorchCheckpointFormat.read(contentsOf: url) }
        #expect(problem?.kind == "unsupportedFeature")
        #expect(problem?.description.contains("pickle global \(global) is not allowed") == true, "\(String(describing: problem))")
    }

    @Test func legacyFormatIsRefusedWithTheWayOut() throws {
        let url = Repository.fixture("checkpoints/legacy.pt")
        #expect(TorchCheckpointFormat.isLegacyCheckpoint(Array(try bytes(of: url).prefix(16))))
        let problem = fileProblem { _ = try TorchCheckpointFormat.read(contentsOf: url) }
        #expect(problem?.kind == "unsupportedFeature")
        #expect(problem?.description.contains("_use_new_zipfile_serialization=True") == true)
    }

    @Test(arguments: [
        ("os", "system"), ("posix", "system"), ("builtins", "eval"), ("builtins", "exec"), ("__builtin__", "getattr"),
        ("subprocess", "Popen"), ("torch", "load"), ("torch._utils", "_rebuild_from_type_v2"), ("collections", "defaultdict"),
        ("numpy.core.multiarray", "_reconstruct"),
    ])
    func refusedGlobalIsNamedWhetherGLOBALOrSTACK_GLOBAL(module: String, name: String) throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        for stacked in [false, true] {
            var pickle = PickleBuilder()
            if stacked {
                pickle.string(module)
                pickle.string(name)
                pickle.op(.stackGlobal)
            } else {
                pickle.global(module, name)
            }
            pickle.tuple { $0.string("echo pwned") }
            pickle.op(.reduce)
            let error = refusal(checkpointBytes(pickle.finish()), in: folder)
            #expect(error?.problem.kind == "unsupportedFeature")
            #expect(error?.description.contains("pickle global \(module).\(name) is not allowed") == true, "\(String(describing: error))")
        }
    }

    @Test(arguments: [PickleOpcode.inst, .obj, .newObj, .newObjEx, .ext1, .ext2, .ext4, .persID, .int, .long, .float, .string, .unicode, .get, .put, .emptySet, .nextBuffer])
    func refusedOpcodeIsNamed(_ opcode: PickleOpcode) throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        var pickle = PickleBuilder()
        pickle.op(.mark)
        pickle.op(opcode)
        pickle.bytes += Array("os\nsystem\n".utf8)
        let error = refusal(checkpointBytes(pickle.finish()), in: folder)
        #expect(error?.problem.kind == "unsupportedFeature")
        #expect(error?.description.contains("pickle opcode \(opcode.name) (0x") == true, "\(String(describing: error))")
    }

    @Test func unsupportedStorageTypeIsAnElementTypeError() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        var pickle = PickleBuilder()
        pickle.dict([("z", { $0.tensor(key: "0", storage: "ComplexFloatStorage", numel: 1, shape: [1], strides: [1]) })])
        let error = refusal(checkpointBytes(pickle.finish(), storages: [("0", [UInt8](repeating: 0, count: 8))]), in: folder)
        #expect(error?.problem.kind == "unsupportedDType")
        #expect(error?.description.contains("torch.ComplexFloatStorage") == true)
    }

    @Test func buildIsRefusedExceptOnAnOrderedDict() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        var pickle = PickleBuilder()
        pickle.op(.emptyList)
        pickle.op(.emptyDict)
        pickle.op(.build)
        let error = refusal(checkpointBytes(pickle.finish()), in: folder)
        #expect(error?.problem.kind == "unsupportedFeature")
        #expect(error?.description.contains("BUILD") == true)
    }

    @Test(arguments: [
        // (numel, offset, shape, strides): each reaches past a storage of `numel` floats.
        (4, 0, [5], [1]), (4, 1, [4], [1]), (4, 0, [2, 2], [3, 1]), (4, 4, [1], [1]),
        (4, 0, [2], [Int.max]), (4, Int.max, [1], [1]), (4, 0, [3, 1 << 62], [0, 4]),
    ])
    func viewPastItsStorageIsRefusedNamingTheTensor(numel: Int, offset: Int, shape: [Int], strides: [Int]) throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let pickle = singleTensorPickle(name: "weight", numel: numel, offset: offset, shape: shape, strides: strides)
        let error = refusal(checkpointBytes(pickle, storages: [("0", littleEndianBytes([1, 2, 3, 4]))]), in: folder)
        #expect(error?.tensor == "weight")
        #expect(["malformed", "invalidShape"].contains(error?.problem.kind ?? ""), "\(String(describing: error))")
    }

    @Test func negativeStrideOrOffsetIsRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        for (offset, strides) in [(0, [-1]), (-1, [1])] {
            let pickle = singleTensorPickle(offset: offset, shape: [2], strides: strides)
            let error = refusal(checkpointBytes(pickle, storages: [("0", littleEndianBytes([1, 2, 3, 4]))]), in: folder)
            #expect(error?.problem.kind == "malformed")
        }
    }

    @Test func sizeOneDimensionMayHaveAnyStride() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let pickle = singleTensorPickle(shape: [1, 2, 2], strides: [Int.max, 2, 1])
        let result = try read(checkpointBytes(pickle, storages: [("0", littleEndianBytes([1, 2, 3, 4]))]), in: folder)
        #expect(try result["w"]?.elements(as: Float.self) == [1, 2, 3, 4])
    }

    @Test func storageRecordOfAnotherSizeOrMissingIsRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let pickle = singleTensorPickle()
        let short = refusal(checkpointBytes(pickle, storages: [("0", littleEndianBytes([1, 2, 3]))]), in: folder)
        #expect(short?.problem.kind == "malformed")
        #expect(short?.tensor == "w")
        let missing = refusal(checkpointBytes(pickle, storages: [("1", littleEndianBytes([1, 2, 3, 4]))]), in: folder)
        #expect(missing?.description.contains("archive/data/0 is missing") == true)
    }

    @Test func bigEndianArchiveIsSwappedToNativeOrder() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let values: [Float] = [1.5, -2, 3.25, .leastNonzeroMagnitude]
        var big: [UInt8] = []
        for value in values { big.appendLittleEndian(value.bitPattern.byteSwapped) }
        // A transposed view too: swapping happens after gathering, element by element.
        var pickle = PickleBuilder()
        pickle.dict([
            ("w", { $0.tensor(key: "0", numel: 4, shape: [2, 2], strides: [2, 1]) }),
            ("wt", { $0.tensor(key: "0", numel: 4, shape: [2, 2], strides: [1, 2]) }),
        ])
        let result = try read(checkpointBytes(pickle.finish(), storages: [("0", big)], byteorder: "big"), in: folder)
        #expect(try result["w"]?.elements(as: Float.self) == values)
        #expect(try result["wt"]?.elements(as: Float.self) == [1.5, 3.25, -2, .leastNonzeroMagnitude])
        let odd = refusal(checkpointBytes(pickle.finish(), storages: [("0", big)], byteorder: "middle"), in: folder)
        #expect(odd?.problem.kind == "malformed")
    }

    @Test func sharedTensorUnderTwoNamesReadsTheSameAndDuplicateNamesAreRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        var tied = PickleBuilder()
        tied.dict([
            ("encoder.weight", { $0.tensor(key: "0", numel: 4, shape: [4], strides: [1]); $0.op(.binPut); $0.bytes.append(200) }),
            ("decoder.weight", { $0.op(.binGet); $0.bytes.append(200) }),
        ])
        let storage = [("0", littleEndianBytes([1, 2, 3, 4]))]
        let result = try read(checkpointBytes(tied.finish(), storages: storage), in: folder)
        #expect(result.names == ["encoder.weight", "decoder.weight"])
        #expect(result["encoder.weight"] == result["decoder.weight"])

        var clash = PickleBuilder()
        clash.dict([
            ("a.b", { $0.tensor(key: "0", numel: 4, shape: [4], strides: [1]) }),
            ("a", { $0.dict([("b", { $0.tensor(key: "0", numel: 4, shape: [4], strides: [1]) })]) }),
        ])
        let error = refusal(checkpointBytes(clash.finish(), storages: storage), in: folder)
        #expect(error?.problem == .duplicateName("a.b"))
    }

    @Test func boolStorageHoldingOtherBytesIsRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        var pickle = PickleBuilder()
        pickle.dict([("mask", { $0.tensor(key: "0", storage: "BoolStorage", numel: 3, shape: [3], strides: [1]) })])
        let error = refusal(checkpointBytes(pickle.finish(), storages: [("0", [1, 0, 2])]), in: folder)
        #expect(error?.tensor == "mask")
        #expect(error?.problem.kind == "malformed")
    }

    /// A TorchScript archive (constants.pkl and code/ beside data.pkl) is read for its data.pkl alone; the code
    /// is never looked at, and the metadata names the archive's folder.
    @Test func torchScriptArchiveIsReadWithoutItsCode() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let bytes = checkpointBytes(singleTensorPickle(), storages: [("0", littleEndianBytes([1, 2, 3, 4]))], extra: [
            ("archive/constants.pkl", [0x80, 0x02, 0x29, 0x2E]), ("archive/code/__torch__.py", Array("class M: pass\n".utf8)),
        ])
        let url = folder.file("scripted.pt")
        try Data(bytes).write(to: url)
        let dict = try TensorFile.read(contentsOf: url)
        #expect(dict.names == ["w"])
        #expect(dict.metadata["torchscript"] == "archive")
    }

    @Test func writingIsRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let problem = fileProblem { try TorchCheckpointFormat.write(StateDict(), to: folder.file("out.pt")) }
        #expect(problem == .cannotStore("PyTorch checkpoints are read only; write NPZ, HDF5 or safetensors"))
        #expect(try folder.contents().isEmpty)
    }

    @Test func checkpointsAreToldApartFromNPZ() throws {
        let checkpoint = try InputFile(path: Repository.fixture("checkpoints/state_dict.pt").path)
        #expect(TorchCheckpointFormat.isCheckpoint(try ZipDirectory(file: checkpoint)))
        let npzURL = try #require(Manifest.formats.files.keys.sorted().first { $0.hasSuffix(".npz") })
        let npz = try InputFile(path: Repository.fixture("formats/" + npzURL).path)
        #expect(!TorchCheckpointFormat.isCheckpoint(try ZipDirectory(file: npz)))
        #expect(!TorchCheckpointFormat.isLegacyCheckpoint(Array(try bytes(of: Repository.fixture("checkpoints/state_dict.pt")).prefix(16))))
    }

    @Test func truncatedCheckpointIsAnErrorAtEveryLength() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let whole = try bytes(of: Repository.fixture("checkpoints/state_dict.pt"))
        for length in 0..<whole.count {
            _ = refusal(Array(whole.prefix(length)), in: folder)
        }
    }

    /// The records of state_dict.pt, for rewrapping a damaged pickle in a valid archive.
    func stateDictRecords() throws -> (pickle: [UInt8], storages: [(key: String, data: [UInt8])]) {
        let file = try InputFile(path: Repository.fixture("checkpoints/state_dict.pt").path)
        var pickle: [UInt8] = []
        var storages: [(key: String, data: [UInt8])] = []
        for entry in try ZipDirectory(file: file).entries {
            let data = try file.bytes(at: entry.dataOffset, count: entry.uncompressedSize)
            if entry.name.hasSuffix("/data.pkl") { pickle = data }
            if let range = entry.name.range(of: "/data/") { storages.append((String(entry.name[range.upperBound...]), data)) }
        }
        return (pickle, storages)
    }

    @Test func truncatedPickleIsAnErrorAtEveryLength() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let (pickle, storages) = try stateDictRecords()
        #expect(try read(checkpointBytes(pickle, storages: storages), in: folder).names.count == 16)
        for length in 0..<pickle.count {
            _ = refusal(checkpointBytes(Array(pickle.prefix(length)), storages: storages), in: folder)
        }
    }

    @Test func mutatedPickleIsReadOrRefusedNeverACrash() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let (pickle, storages) = try stateDictRecords()
        var random = SplitMix64(seed: 2024)
        var refused = 0
        for _ in 0..<600 {
            var mutated = pickle
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let index = Int.random(in: 2..<mutated.count, using: &random)
                mutated[index] = random.next() % 2 == 0 ? UInt8.random(in: 0...255, using: &random) : mutated[index] ^ 0x01
            }
            do {
                _ = try read(checkpointBytes(mutated, storages: storages), in: folder)
            } catch is TensorFileError {
                refused += 1
            }
        }
        #expect(refused > 0)
    }

    @Test func hostileNestingIsBoundedNotACrash() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        // 200,000 nested one-item tuples: too deep to name, and freed without deep recursion.
        var deep = PickleBuilder()
        deep.op(.noneValue)
        deep.bytes += [UInt8](repeating: PickleOpcode.tuple1.rawValue, count: 200_000)
        #expect(refusal(checkpointBytes(deep.finish()), in: folder)?.problem.kind == "tooLarge")

        // A list that holds itself.
        var cycle = PickleBuilder()
        cycle.op(.emptyList)
        cycle.op(.binPut)
        cycle.bytes.append(0)
        cycle.op(.binGet)
        cycle.bytes.append(0)
        cycle.op(.append)
        #expect(refusal(checkpointBytes(cycle.finish()), in: folder)?.problem.kind == "tooLarge")

        // 64 levels of [x, x]: 2⁶⁴ paths to one tensor in a few hundred bytes.
        var wide = PickleBuilder()
        wide.tensor(key: "0", numel: 4, shape: [4], strides: [1])
        for _ in 0..<64 {
            wide.op(.dup)
            wide.op(.tuple2)
        }
        let error = refusal(checkpointBytes(wide.finish(), storages: [("0", littleEndianBytes([1, 2, 3, 4]))]), in: folder)
        #expect(error?.problem.kind == "tooLarge")
    }

    @Test func hostileLengthsAreCheckedBeforeAllocating() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        var string = PickleBuilder()
        string.op(.binUnicode8)
        string.bytes.appendLittleEndian(UInt64(1) << 62)
        #expect(refusal(checkpointBytes(string.finish()), in: folder)?.problem.kind == "malformed")

        // A view that repeats one element (stride 0) into an enormous tensor.
        let expand = singleTensorPickle(numel: 1, shape: [1 << 20, 1 << 20], strides: [0, 0])
        let error = refusal(checkpointBytes(expand, storages: [("0", littleEndianBytes([1]))]), in: folder)
        #expect(error?.problem.kind == "tooLarge")
    }

    @Test func bareTensorTakesTheFileName() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        var pickle = PickleBuilder()
        pickle.tensor(key: "0", numel: 4, shape: [2, 2], strides: [2, 1])
        let result = try read(checkpointBytes(pickle.finish(), storages: [("0", littleEndianBytes([1, 2, 3, 4]))]), in: folder, name: "embedding.pth")
        #expect(result.names == ["embedding"])
    }
}
