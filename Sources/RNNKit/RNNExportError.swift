/// Why an RNN cannot be written in the form asked for (ONNX has its own: `ONNXExportError`).
public enum RNNExportError: Error, Equatable, CustomStringConvertible {
    /// A reset-before GRU under PyTorch's names: `torch.nn.GRU` would load the tensors and compute something else.
    case noPyTorchEquivalent(prefix: String)
    /// A model that reads its sequences backwards (`RNNConfiguration.reverse`), which no PyTorch module does.
    case readsBackwards(prefix: String)
    /// Something Keras's recurrent layers cannot express (an LSTM's projection, say): `detail` says what.
    case notKeras(detail: String)

    public var description: String {
        switch self {
        case .noPyTorchEquivalent(let prefix):
            "\(prefix.isEmpty ? "the GRU" : "GRU \"\(prefix)\"") applies its reset gate before the recurrent product "
                + "(Keras reset_after=False), which torch.nn.GRU cannot: under PyTorch's names it would load and compute "
                + "something else; write it as .keras, .weights.h5 or .onnx instead"
        case .readsBackwards(let prefix):
            "\(prefix.isEmpty ? "the model" : "module \"\(prefix)\"") reads its sequences backwards (ONNX direction=\"reverse\"), "
                + "which no PyTorch module does: under PyTorch's names it would load and compute something else; write it as .onnx instead"
        case .notKeras(let detail): detail
        }
    }
}
