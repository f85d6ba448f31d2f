/// Why a state_dict is not a usable `torch.nn.RNN`, or why inputs do not fit it.
///
/// Tensor names in these errors are the full names in the file (prefix included), so that a user can find them
/// with `rnn-inspect`.
public enum RNNLoadError: Error, Equatable, CustomStringConvertible {
    /// No tensor is named like an RNN's (`weight_ih_l0` or an RNNCell's `weight_ih`).
    case noRNN
    /// Several RNN modules are present and none was chosen.
    case ambiguous(prefixes: [String])
    /// The chosen prefix names no RNN module.
    case prefixNotFound(prefix: String, available: [String])
    /// A tensor the configuration requires is absent.
    case missingTensor(name: String)
    /// A tensor under the module's prefix that no `torch.nn.RNN` has.
    case unexpectedTensor(name: String)
    /// Layers are numbered with a gap: `found` lists the layer numbers present.
    case layerGap(prefix: String, found: [Int])
    /// A tensor's shape differs from what the other tensors imply.
    case wrongShape(name: String, expected: [Int], found: [Int])
    /// A weight or bias that is not rank 2 or rank 1 as it should be.
    case wrongRank(name: String, expected: Int, found: Int)
    /// A weight that is not a floating-point tensor.
    case notFloat(name: String, dtype: DType)
    /// Weights of different dtypes in one module.
    case mixedDTypes(name: String, expected: DType, found: DType)
    /// A metadata entry whose value cannot be understood (not a number, not true/false, an unknown name).
    case badMetadata(key: String, value: String)
    /// A metadata entry that contradicts what the tensors say: `inferred` is the tensors' value for `key`.
    case metadataConflict(key: String, value: String, inferred: String)

    public var description: String {
        switch self {
        case .noRNN:
            "no RNN module found (no tensor named like weight_ih_l0 or an RNNCell's weight_ih)"
        case .ambiguous(let prefixes):
            "several RNN modules found (\(prefixes.map(Self.show).joined(separator: ", "))); choose one with a prefix"
        case .prefixNotFound(let prefix, let available):
            "no RNN module at prefix \(Self.show(prefix)); found: \(available.isEmpty ? "none" : available.map(Self.show).joined(separator: ", "))"
        case .missingTensor(let name): "tensor \"\(name)\" is missing"
        case .unexpectedTensor(let name): "tensor \"\(name)\" does not belong in this RNN, LSTM or GRU"
        case .layerGap(let prefix, let found):
            "layers of \(Self.show(prefix)) are numbered \(found) (they must run 0, 1, 2, … without a gap)"
        case .wrongShape(let name, let expected, let found):
            "tensor \"\(name)\" has shape \(found), expected \(expected)"
        case .wrongRank(let name, let expected, let found):
            "tensor \"\(name)\" has rank \(found), expected \(expected)"
        case .notFloat(let name, let dtype):
            "tensor \"\(name)\" is \(dtype); RNN weights must be float16, bfloat16, float32 or float64"
        case .mixedDTypes(let name, let expected, let found):
            "tensor \"\(name)\" is \(found) but the module's other weights are \(expected)"
        case .badMetadata(let key, let value):
            "metadata \(key) = \"\(value)\" is not understood" + (Self.accepted[key].map { " (expected \($0))" } ?? "")
        case .metadataConflict(let key, let value, let inferred):
            "metadata \(key) = \"\(value)\" conflicts with the tensors, which give \(key) = \(inferred)"
        }
    }

    /// What each metadata key accepts, for `badMetadata`'s message.
    private static let accepted = [
        "nonlinearity": "tanh or relu", "dropout": "a number from 0 to 1", "batch_first": "true or false",
        "bidirectional": "true or false", "bias": "true or false", "mode": "rnn, lstm or gru",
        "reset_after": "true or false",
    ]

    private static func show(_ prefix: String) -> String { prefix.isEmpty ? "(no prefix)" : "\"\(prefix)\"" }
}
