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

    @Test func fixedWidthFieldsAreLittleEndian() {
        var writer = ProtobufWriter()
        writer.appendFloat(1, 1.0)
        writer.appendDouble(2, -2.0)
        let float = withUnsafeBytes(of: Float(1.0).bitPattern.littleEndian) { Array($0) }
        let double = withUnsafeBytes(of: Double(-2.0).bitPattern.littleEndian) { Array($0) }
        #expect(writer.bytes == [0x0D] + float + [0x11] + double)
    }
}
