import Foundation

extension RNN {
    /// The ONNX IR version our models declare (8, introduced with ONNX 1.10; ONNX Runtime 1.32 reads it).
    public static let onnxIRVersion = 8
    /// The ONNX operator set our models import (14, where `RNN`, `LSTM` and `GRU` gained their current
    /// semantics; opset 22 only adds bfloat16 to them, which we do not write).
    public static let onnxOpsetVersion = 14

    /// The model as an ONNX file's bytes: one ONNX `RNN`, `LSTM` or `GRU` node per layer computing what
    /// `forward` computes, weights embedded in `precision` (default: `self.precision`, so float16 and bfloat16
    /// weights are widened exactly to float32; float64 stays float64 — ONNX Runtime 1.32's CPU kernels for
    /// these operators are float32 only, so export float64 models as `.float32` to run them there).
    ///
    /// Inputs: `input` `[T, B, I]` (`[B, T, I]` when batch-first; 3-D only — feed an unbatched sequence as a
    /// batch of one), and optional `h0`/`c0` `[L·D, B, H]` (zeros when not fed, as PyTorch) and `lengths` int32
    /// `[B]` (variable lengths as PyTorch's packed sequences; the whole sequence when not fed). ONNX Runtime
    /// lists the optional ones under `get_overridable_initializers()`, not `get_inputs()`, and feeds them by name.
    /// Outputs: `output`, `h_n` and (LSTM) `c_n`, shaped as PyTorch's. Throws `ONNXExportError` for an LSTM with
    /// `proj_size` (ONNX's LSTM has no projection) or a model over 2 GiB.
    public func onnxModel(precision: Precision? = nil) throws -> [UInt8] {
        let precision = precision ?? self.precision
        guard configuration.projSize == 0 else {
            throw ONNXExportError.projectionUnsupported(projSize: configuration.projSize)
        }
        // Protobuf messages stop at 2 GiB; refuse before allocating rather than write a file no one can read.
        let limit = Int(Int32.max)
        let estimate = ONNXGraphBuilder.weightBytes(of: self, precision: precision) + 64 * 1024
        guard estimate <= limit else { throw ONNXExportError.tooLarge(bytes: estimate) }

        var builder = ONNXGraphBuilder(rnn: self, precision: precision)
        let model = ONNXProto.Model(
            irVersion: Int64(Self.onnxIRVersion),
            opsetImports: [.init(domain: "", version: Int64(Self.onnxOpsetVersion))],
            producerName: "swift-rnn-toolkit",
            docString: "PyTorch \(configuration) (\(dtype) weights, exported in \(precision.dtype))",
            graph: try builder.build(),
            metadata: metadata.map { (key: $0.key, value: $0.value) })
        let bytes = model.encoded()
        guard bytes.count <= limit else { throw ONNXExportError.tooLarge(bytes: bytes.count) }
        return bytes
    }

    /// Writes `onnxModel(precision:)` to `url` atomically: Foundation's `.atomic` write puts the bytes in a
    /// temporary file and renames it over `url`, so readers never see a partial model. Throws
    /// `ONNXExportError` as `onnxModel`, or `TensorFileError` (`io`) when the file cannot be written.
    public func writeONNX(to url: URL, precision: Precision? = nil) throws {
        let bytes = try onnxModel(precision: precision)
        do {
            try Data(bytes).write(to: url, options: .atomic)
        } catch {
            throw TensorFileError(path: url.path, problem: .io("cannot write the ONNX model: \(Self.reason(error))"))
        }
    }

    /// The operating system's words for why Foundation could not write ("No such file or directory").
    private static func reason(_ error: Error) -> String {
        if let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? any Error,
           (underlying as NSError).domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32((underlying as NSError).code)))
        }
        return error.localizedDescription
    }
}
