import Foundation
import Testing
import TestSupport
@testable import RNNKit

/// The ONNX models we write, loaded and run by onnx and ONNX Runtime themselves (tools/check_onnx.py).
///
/// Needs the Python environment of `tools/setup.sh` (or `RNN_PYTHON` naming a Python with numpy, onnx and
/// onnxruntime). Without it the tests fail rather than skip. Tolerances (float32: rtol 1e-5, atol 1e-6;
/// float64: rtol 1e-12, atol 1e-14) and why float64 models are computed by onnx's reference evaluator are
/// stated in the script.
struct ONNXExportTests {
    /// What tools/check_onnx.py says on its last line.
    struct Summary: Decodable {
        let cases: Int
        let ok: Int
        let engines: [String: Int]
        let maxAbsError: [String: Double]

        enum CodingKeys: String, CodingKey {
            case cases, ok, engines
            case maxAbsError = "max_abs_error"
        }
    }

    /// Runs tools/check_onnx.py on `cases` (name, model, inputs, expected) and returns its summary and output.
    static func check(_ cases: [[String: String]], in folder: TemporaryFolder) throws -> (Summary?, String) {
        let list = folder.file("cases.json")
        try JSONSerialization.data(withJSONObject: cases).write(to: list)
        let (status, text) = try PythonTool.run("check_onnx.py", [list.path])
        let line = text.split(separator: "\n").last { $0.hasPrefix("summary: ") }
        let summary = try line.map { try JSONDecoder().decode(Summary.self, from: Data($0.dropFirst("summary: ".count).utf8)) }
        #expect(status == 0, "\(text)")
        return (summary, text)
    }

    static let expressible = TorchCase.all.filter { $0.projSize == 0 }

    @Test func everyTorchCaseWithoutProjectionGivesTorchsNumbersInOnnxRuntime() throws {
        // The cases must keep covering what the export has to get right.
        let cases = Self.expressible
        #expect(Set(cases.map(\.mode)) == ["rnn", "lstm", "gru"])
        for mode in ["rnn", "lstm", "gru"] {
            let ofMode = cases.filter { $0.mode == mode && !$0.unbatched }
            #expect(ofMode.contains { $0.bidirectional } && ofMode.contains { !$0.bidirectional }, "\(mode)")
            #expect(ofMode.contains { $0.numLayers > 1 } && ofMode.contains { $0.batchFirst }, "\(mode)")
            #expect(ofMode.contains { $0.hasH0 } && ofMode.contains { !$0.hasH0 } && ofMode.contains { $0.hasLengths }, "\(mode)")
        }
        #expect(cases.contains { $0.hasC0 } && cases.contains { $0.mode == "lstm" && !$0.hasC0 })
        #expect(cases.contains { $0.nonlinearity == "relu" } && cases.contains { !$0.bias } && cases.contains { $0.cell })

        let folder = try TemporaryFolder()
        defer { folder.remove() }
        var list: [[String: String]] = []
        for fixture in cases {
            let rnn = try RNN(contentsOf: fixture.file("model.npz"), options: fixture.options)
            let model = folder.file("\(fixture.name).onnx")
            try rnn.writeONNX(to: model)
            list.append(["name": fixture.name, "model": model.path,
                         "inputs": fixture.file("inputs.npz").path, "expected": fixture.file("expected.npz").path])
        }
        let (summary, text) = try Self.check(list, in: folder)
        let float32Cases = cases.filter { $0.dtype == "float32" }.count
        #expect(summary?.cases == cases.count, "\(text)")
        #expect(summary?.ok == cases.count, "\(text)")
        // Every float32 model runs in ONNX Runtime itself; float64 ones where it has kernels (see the script).
        #expect((summary?.engines["onnxruntime"] ?? 0) >= float32Cases, "\(text)")
    }

    @Test func weightsOfEveryDTypeExportInTheirComputePrecision() throws {
        // float16 and bfloat16 weights become float32 models, float64 weights a float32 model when the RNN was
        // loaded with float32 precision, and float32 weights a float64 model on request; each must compute what
        // our forward pass computes in that precision.
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let fixture = try #require(TorchCase.all.first { $0.name == "lstm_l2_bi_h0c0_f32" })
        let double = try #require(TorchCase.all.first { $0.name == "gru_l2_bi_f64" })
        let variants: [(name: String, source: TorchCase, dtype: DType?, loaded: Precision?, exported: Precision?)] = [
            ("float16", fixture, .float16, nil, nil),
            ("bfloat16", fixture, .bfloat16, nil, nil),
            ("float64_loaded_as_float32", double, nil, .float32, nil),
            ("float32_exported_as_float64", fixture, nil, nil, .float64),
        ]
        var list: [[String: String]] = []
        for variant in variants {
            var dict = try TensorFile.read(contentsOf: variant.source.file("model.npz"))
            if let dtype = variant.dtype {
                for (key, tensor) in dict.tensors { dict.tensors[key] = try tensor.converted(to: dtype) }
            }
            let options = { (precision: Precision?) in
                RNNLoadOptions(batchFirst: variant.source.batchFirst, precision: precision)
            }
            let rnn = try RNN(stateDict: dict, options: options(variant.loaded))
            let reference = try RNN(stateDict: dict, options: options(variant.exported ?? variant.loaded))
            // Inputs in the precision the reference computes in (the script feeds them in the model's).
            var inputs = try TensorFile.read(contentsOf: variant.source.file("inputs.npz"))
            for (key, tensor) in inputs.tensors where tensor.dtype.isFloatingPoint {
                inputs.tensors[key] = try tensor.converted(to: reference.precision.dtype)
            }
            let inputsURL = folder.file("\(variant.name)_inputs.npz")
            try NPZFormat.write(inputs, to: inputsURL)
            let computed = try reference.forward(
                inputs["input"]!, h0: inputs["h0"], c0: inputs["c0"], lengths: inputs["lengths"]?.integerValues())
            var expected = StateDict(tensors: ["output": computed.output, "h_n": computed.hN])
            if let cN = computed.cN { expected.tensors["c_n"] = cN }
            let expectedURL = folder.file("\(variant.name)_expected.npz")
            try NPZFormat.write(expected, to: expectedURL)
            let model = folder.file("\(variant.name).onnx")
            try rnn.writeONNX(to: model, precision: variant.exported)
            list.append(["name": variant.name, "model": model.path,
                         "inputs": inputsURL.path, "expected": expectedURL.path])
        }
        let (summary, text) = try Self.check(list, in: folder)
        #expect(summary?.ok == variants.count, "\(text)")
    }

    @Test(arguments: TorchCase.all.filter { $0.projSize > 0 })
    func projectedLSTMIsRefusedWithAClearError(_ fixture: TorchCase) throws {
        let rnn = try RNN(contentsOf: fixture.file("model.npz"), options: fixture.options)
        #expect(throws: ONNXExportError.projectionUnsupported(projSize: fixture.projSize)) { try rnn.onnxModel() }
        #expect(ONNXExportError.projectionUnsupported(projSize: fixture.projSize).description.contains("ONNX's LSTM has no projection (proj_size)"))
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        #expect(throws: ONNXExportError.self) { try rnn.writeONNX(to: folder.file("model.onnx")) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.url.path).isEmpty)
    }

    @Test func exportIsDeterministic() throws {
        let fixture = try #require(Self.expressible.first { $0.mode == "gru" && $0.numLayers > 1 })
        let first = try RNN(contentsOf: fixture.file("model.npz"), options: fixture.options).onnxModel()
        let second = try RNN(contentsOf: fixture.file("model.h5"), options: fixture.options).onnxModel()
        #expect(first == second)
    }

    @Test func writeReplacesAnExistingFileAndLeavesNothingElse() throws {
        let fixture = try #require(Self.expressible.first { $0.mode == "lstm" })
        let rnn = try RNN(contentsOf: fixture.file("model.npz"), options: fixture.options)
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let url = folder.file("model.onnx")
        try Data("old".utf8).write(to: url)
        try rnn.writeONNX(to: url)
        #expect(try Data(contentsOf: url) == Data(try rnn.onnxModel()))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.url.path) == ["model.onnx"])
    }

    @Test func writeIntoAMissingFolderIsAFileError() throws {
        let fixture = try #require(Self.expressible.first)
        let rnn = try RNN(contentsOf: fixture.file("model.npz"), options: fixture.options)
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let url = folder.file("missing/model.onnx")
        let problem = fileProblem { try rnn.writeONNX(to: url) }
        #expect(problem?.kind == "io")
    }
}

/// The weights are produced as the file is written (`ONNXWeightData`, `ProtobufWriter.DeferredBytes`); these
/// check that streaming changes none of the bytes, and how a write refuses and fails.
struct ONNXStreamingTests {
    /// An RNN to export and the precision to export it in (nil: its own).
    struct Variant: CustomTestStringConvertible, Sendable {
        let name: String
        let rnn: RNN
        let precision: Precision?
        var testDescription: String { name }
    }

    /// Every torch case ONNX can express in its own precision and in both others; float16 and bfloat16 copies of
    /// two of them; and a bidirectional two-layer LSTM whose initializers span several 1 MiB pieces, with gate
    /// blocks that do not line up with the pieces (float32 and float16 weights).
    static let variants: [Variant] = {
        var result: [Variant] = []
        for fixture in ONNXExportTests.expressible {
            let rnn = try! RNN(contentsOf: fixture.file("model.npz"), options: fixture.options)
            for precision in [nil, Precision.float32, .float64] {
                result.append(Variant(name: "\(fixture.name)_\(precision?.rawValue ?? "own")", rnn: rnn, precision: precision))
            }
        }
        for name in ["lstm_l2_bi_h0c0_f32", "gru_l2_bi_f64"] {
            let fixture = ONNXExportTests.expressible.first { $0.name == name }!
            var dict = try! TensorFile.read(contentsOf: fixture.file("model.npz"))
            for dtype in [DType.float16, .bfloat16] {
                for (key, tensor) in dict.tensors { dict.tensors[key] = try! tensor.converted(to: dtype) }
                let rnn = try! RNN(stateDict: dict, options: fixture.options)
                result.append(Variant(name: "\(name)_\(dtype)", rnn: rnn, precision: nil))
            }
        }
        for dtype in [DType.float32, .float16] {
            let rnn = largeLSTM(dtype)
            result.append(Variant(name: "large_lstm_\(dtype)", rnn: rnn, precision: nil))
            result.append(Variant(name: "large_lstm_\(dtype)_float64", rnn: rnn, precision: .float64))
        }
        return result
    }()

    /// A bidirectional two-layer LSTM (input 170, hidden 300) with seeded weights in `dtype`: 13 MB in float32,
    /// its W and R initializers 1.6–5.8 MB.
    static func largeLSTM(_ dtype: DType) -> RNN {
        var random = SplitMix64(seed: 14)
        var dict = StateDict()
        let hidden = 300
        for layer in 0..<2 {
            for suffix in ["_l\(layer)", "_l\(layer)_reverse"] {
                for (kind, shape) in [("weight_ih", [4 * hidden, layer == 0 ? 170 : 2 * hidden]), ("weight_hh", [4 * hidden, hidden]),
                                      ("bias_ih", [4 * hidden]), ("bias_hh", [4 * hidden])] {
                    let values = (0..<shape.reduce(1, *)).map { _ in Float(random.uniform(1)) }
                    dict.tensors[kind + suffix] = try! Tensor(shape: shape, elements: values).converted(to: dtype)
                }
            }
        }
        return try! RNN(stateDict: dict)
    }

    /// The raw_data of initializer `name` as the exporter computed it before it streamed: every weight widened to
    /// `[Double]`, the gate blocks reordered (ONNX's LSTM i, o, f, c from PyTorch's i, f, g, o; GRU z, r, h from
    /// r, z, n), then narrowed to the export precision; zeros for the default states and for a missing bias.
    static func eagerRawData(of name: String, in rnn: RNN, precision: Precision) throws -> [UInt8] {
        let c = rnn.configuration
        let order = switch c.mode {
        case .rnn: [0]
        case .lstm: [0, 3, 1, 2]
        case .gru: [1, 0, 2]
        }
        var values: [Double] = []
        if name == "h0" || name == "c0" {
            values = Array(repeating: 0, count: c.numLayers * c.directions * c.hiddenSize)
        } else {
            let layer = try #require(Int(name.dropFirst().prefix { $0 != "_" }))
            for direction in 0..<c.directions {
                let suffix = rnn.isCell ? "" : "_l\(layer)" + (direction == 1 ? "_reverse" : "")
                func reordered(_ kind: String, columns: Int) throws -> [Double] {
                    let all = try rnn.tensors[kind + suffix]!.doubleValues()
                    let block = c.hiddenSize * columns
                    return order.flatMap { all[$0 * block..<($0 + 1) * block] }
                }
                switch name.last {
                case "W": values += try reordered("weight_ih", columns: c.layerInputSize(layer))
                case "R": values += try reordered("weight_hh", columns: c.hiddenSize)
                default:
                    values += c.bias
                        ? try reordered("bias_ih", columns: 1) + reordered("bias_hh", columns: 1)
                        : Array(repeating: 0, count: 2 * c.mode.gateCount * c.hiddenSize)
                }
            }
        }
        return switch precision {
        case .float32: values.map { Float($0).bitPattern.littleEndian }.withUnsafeBytes { Array($0) }
        case .float64: values.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Array($0) }
        }
    }

    /// The bytes a deferred field produces, asked for in one piece.
    static func produced(_ field: ProtobufWriter.DeferredBytes) -> [UInt8] {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: field.count, alignment: 16)
        defer { buffer.deallocate() }
        field.fill(0, buffer)
        return Array(buffer)
    }

    @Test(arguments: variants)
    func streamedWeightsAreTheEagerConversionsBytes(_ variant: Variant) throws {
        let precision = variant.precision ?? variant.rnn.precision
        var builder = ONNXGraphBuilder(rnn: variant.rnn, precision: precision)
        let graph = builder.build()
        var deferred = 0
        for initializer in graph.initializers {
            guard case .deferred(let field) = initializer.data else { continue }
            deferred += 1
            let expected = try Self.eagerRawData(of: initializer.name, in: variant.rnn, precision: precision)
            let bytes = Self.produced(field)
            // The first differing byte, not the arrays: a failure must stay readable for megabytes of weights.
            let same = bytes == expected
            let difference = same ? nil : zip(bytes, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            #expect(field.count == expected.count && same,
                    "\(initializer.name): \(field.count) bytes, expected \(expected.count), first difference at \(String(describing: difference))")
        }
        let c = variant.rnn.configuration
        #expect(deferred == 3 * c.numLayers + (c.mode == .lstm ? 2 : 1))
    }

    @Test(arguments: variants.filter { $0.name.hasPrefix("large") || $0.name.hasPrefix("lstm_l2_bi_h0c0") || $0.name.hasPrefix("gru_l2_bi_f64")
        || $0.name.hasPrefix("seed_rnncell") || $0.name.hasPrefix("l1_uni_relu_nobias") })
    func writtenFileIsOnnxModelsBytes(_ variant: Variant) throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let url = folder.file("model.onnx")
        try variant.rnn.writeONNX(to: url, precision: variant.precision)
        #expect(try Data(contentsOf: url) == Data(try variant.rnn.onnxModel(precision: variant.precision)))
        #expect(try folder.contents() == ["model.onnx"])
    }

    @Test func weightDataInAnyPiecesIsTheWholeData() throws {
        var random = SplitMix64(seed: 7)
        let a = try Tensor(shape: [40, 3], elements: (0..<120).map { _ in Float(random.uniform(2)) })
        let b = try Tensor(shape: [17], elements: (0..<17).map { _ in random.uniform(2) }).converted(to: .float16)
        for precision in Precision.allCases {
            var data = ONNXWeightData(precision: precision)
            data.append(a, elements: 30..<90)
            data.appendZeros(5)
            data.append(b, elements: 0..<17)
            data.append(a, elements: 0..<30)
            data.appendZeros(0)
            data.append(a, elements: 119..<120)
            #expect(data.elementCount == 60 + 5 + 17 + 30 + 1)
            let whole = ONNXStreamingTests.produced(data.deferredBytes)
            for _ in 0..<20 {
                var offset = 0
                var pieces: [UInt8] = []
                while offset < data.byteCount {
                    let count = min(data.byteCount - offset, data.elementSize * Int(random.next() % 25 + 1))
                    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 16)
                    defer { buffer.deallocate() }
                    data.fill(from: offset, into: buffer)
                    pieces += buffer
                    offset += count
                }
                #expect(pieces == whole)
            }
        }
    }

    @Test func writeWithoutReplacingRefusesAnExistingFileAndKeepsIt() throws {
        let rnn = try #require(Self.variants.first).rnn
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let url = folder.file("model.onnx")
        try Data("old".utf8).write(to: url)
        #expect(fileProblem { try rnn.writeONNX(to: url, replaceExisting: false) } == .alreadyExists)
        #expect(try Data(contentsOf: url) == Data("old".utf8))
        let fresh = folder.file("new.onnx")
        try rnn.writeONNX(to: fresh, replaceExisting: false)
        #expect(try Data(contentsOf: fresh) == Data(try rnn.onnxModel()))
        #expect(try folder.contents() == ["model.onnx", "new.onnx"])
    }

    @Test func writeErrorsNameThePathAsGiven() throws {
        let rnn = try #require(Self.variants.first).rnn
        let path = "missing-\(UUID().uuidString)/model.onnx"
        let error = fileError { try rnn.writeONNX(to: URL(fileURLWithPath: path)) }
        #expect(error?.path == path)
        #expect(error?.problem.kind == "io")
    }

    @Test func modelOver2GiBIsRefusedBeforeAnythingIsWritten() throws {
        // An RNN with input and hidden size 16384 has 2 × 2^28 float32 weights (2 GiB). Zero tensors this large
        // are fresh anonymous mappings, never touched here, so the test costs no memory.
        let size = 16384
        let dict = StateDict(tensors: [
            "weight_ih_l0": try Tensor(zeros: .float32, shape: [size, size]),
            "weight_hh_l0": try Tensor(zeros: .float32, shape: [size, size]),
        ])
        let rnn = try RNN(stateDict: dict)
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let error = #expect(throws: ONNXExportError.self) { try rnn.writeONNX(to: folder.file("model.onnx")) }
        guard case .tooLarge(let bytes)? = error else {
            Issue.record("expected tooLarge, got \(String(describing: error))")
            return
        }
        #expect(bytes > 1 << 31)
        #expect(throws: ONNXExportError.self) { try rnn.onnxModel() }
        #expect(try folder.contents().isEmpty)
    }
}

/// The protobuf encoding rules the ONNX writer relies on, checked on the examples of
/// https://protobuf.dev/programming-guides/encoding/.
struct ProtobufWriterTests {
    @Test func varintsUseSevenBitGroupsLeastSignificantFirst() {
        var writer = ProtobufWriter()
        writer.appendInt(1, 150)  // the guide's "08 96 01"
        #expect(writer.bytes == [0x08, 0x96, 0x01])
        writer = ProtobufWriter()
        writer.appendVarint(UInt64.max)
        #expect(writer.bytes == Array(repeating: 0xFF, count: 9) + [0x01])
    }

    @Test func negativeInt64TakesTenBytes() {
        var writer = ProtobufWriter()
        writer.appendInt(2, -1)
        #expect(writer.bytes == [0x10] + Array(repeating: 0xFF, count: 9) + [0x01])
    }

    @Test func lengthDelimitedFieldsCarryTheirLength() {
        var writer = ProtobufWriter()
        writer.appendString(2, "testing")  // the guide's "12 07 74 65 73 74 69 6e 67"
        #expect(writer.bytes == [0x12, 0x07] + Array("testing".utf8))
        var outer = ProtobufWriter()
        outer.appendMessage(3) { $0.appendInt(1, 150) }  // the guide's embedded message "1a 03 08 96 01"
        #expect(outer.bytes == [0x1A, 0x03, 0x08, 0x96, 0x01])
    }

    @Test func deferredFieldsEncodeAsTheirBytesWould() {
        // 2.5 MiB: three pieces, the last one short.
        let count = 5 << 19 + 4
        let content = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 >> 3) }
        let field = ProtobufWriter.DeferredBytes(count: count) { offset, buffer in
            content.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + buffer.count])) }
        }
        func message(_ raw: (inout ProtobufWriter) -> Void) -> ProtobufWriter {
            var writer = ProtobufWriter()
            writer.appendInt(1, 7)
            writer.appendMessage(2) { outer in
                outer.appendString(1, "outer")
                outer.appendMessage(5) { inner in
                    inner.appendInt(2, 1)
                    raw(&inner)
                    inner.appendString(8, "after")
                }
                outer.appendMessage(5) { raw(&$0) }
            }
            writer.appendString(3, "end")
            return writer
        }
        let eager = message { $0.appendBytes(9, content) }
        let deferred = message { $0.appendBytes(9, field) }
        #expect(deferred.count == eager.count)
        #expect(deferred.bytes == eager.bytes)
        var pieces: [Int] = []
        deferred.write { pieces.append($0.count) }
        #expect(pieces.allSatisfy { $0 <= ProtobufWriter.pieceSize })
        #expect(pieces.reduce(0, +) == eager.count)
    }

    @Test func fixedWidthFieldsAreLittleEndian() {
        var writer = ProtobufWriter()
        writer.appendFloat(1, 1.0)
        writer.appendDouble(2, -2.0)
        let float = withUnsafeBytes(of: Float(1.0).bitPattern.littleEndian) { Array($0) }
        let double = withUnsafeBytes(of: Double(-2.0).bitPattern.littleEndian) { Array($0) }
        #expect(writer.bytes == [0x0D] + float + [0x11] + double)
    }
}
