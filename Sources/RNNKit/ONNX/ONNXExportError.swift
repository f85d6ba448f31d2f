/// Why an RNN cannot be written as an ONNX model.
public enum ONNXExportError: Error, Equatable, CustomStringConvertible {
    /// An LSTM with `proj_size` > 0: ONNX's LSTM operator has no projection of the hidden state.
    case projectionUnsupported(projSize: Int)
    /// The model would exceed the 2 GiB protobuf limit of an ONNX file without external data.
    case tooLarge(bytes: Int)

    public var description: String {
        switch self {
        case .projectionUnsupported(let projSize):
            "ONNX's LSTM has no projection (proj_size): an LSTM with proj_size=\(projSize) cannot be exported to ONNX"
        case .tooLarge(let bytes):
            "the ONNX model would take \(bytes) bytes, more than the 2 GiB a protobuf message can hold (external data is not supported)"
        }
    }
}
