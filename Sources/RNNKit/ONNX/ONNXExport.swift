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
    /// `proj_size` (ONNX's LSTM has no projection) or a model over 2 GiB. The bytes are built in memory, a copy
    /// of the weights; `writeONNX(to:)` writes the same bytes without one.
    public func onnxModel(precision: Precision? = nil) throws -> [UInt8] {
        try encodedONNXModel(precision: precision).bytes
    }

    /// Writes the model `onnxModel(precision:)` describes to `url` through the package's atomic output: a
    /// temporary file beside `url` (removed if the command is interrupted) renamed into place, so readers never
    /// see a partial model. The weights are converted and written a piece at a time, so writing adds a few
    /// megabytes to what the loaded RNN holds. Unless `replaceExisting`, an existing `url` is refused.
    /// Throws `ONNXExportError` as `onnxModel` before anything is written, or `TensorFileError` (`io`, or
    /// `alreadyExists`) naming `url`'s path as given.
    public func writeONNX(to url: URL, precision: Precision? = nil, replaceExisting: Bool = true) throws {
        let model = try encodedONNXModel(precision: precision)
        try AtomicOutput.write(to: url.relativePath, replacing: replaceExisting) { file in
            try model.write { try file.write($0) }
        }
    }

    /// The model as a protobuf message whose weights are produced when it is written; checked to be exportable
    /// and under the 2 GiB protobuf limit.
    private func encodedONNXModel(precision: Precision?) throws -> ProtobufWriter {
        let precision = precision ?? self.precision
        guard configuration.projSize == 0 else {
            throw ONNXExportError.projectionUnsupported(projSize: configuration.projSize)
        }
        var builder = ONNXGraphBuilder(rnn: self, precision: precision)
        let model = ONNXProto.Model(
            irVersion: Int64(Self.onnxIRVersion),
            opsetImports: [.init(domain: "", version: Int64(Self.onnxOpsetVersion))],
            producerName: "swift-rnn-toolkit",
            docString: "PyTorch \(configuration) (\(dtype) weights, exported in \(precision.dtype))",
            graph: builder.build(),
            metadata: metadata.map { (key: $0.key, value: $0.value) }).encoded()
        // Protobuf messages stop at 2 GiB; the length is known before any weight is converted or written.
        guard model.count <= Int(Int32.max) else { throw ONNXExportError.tooLarge(bytes: model.count) }
        return model
    }
}
