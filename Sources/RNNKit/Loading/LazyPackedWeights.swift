import OrderedCollections
import Synchronization

/// An RNN's weights packed for the forward pass, built on the first forward and kept for the later ones.
///
/// Packing at load made converting or inspecting a model hold its weights twice (`rnn-convert` of a 352 MB
/// LSTM peaked at 2.09× the model's bytes); loaded without a forward pass, a model now holds only its tensors.
/// A class shared by the copies of an `RNN`, so the packing happens once; the lock makes concurrent first
/// forwards wait for one packing instead of each doing it.
///
/// Packing cannot fail for a loaded model: `RNN.init` has checked every shape and that every weight is a
/// floating-point dtype, and widening a floating-point tensor to `Float` or `Double` (or rounding float64 to
/// `Float`) always succeeds. The conversions keep their `throws`, so should that ever change, the error
/// (`TensorError`) reaches the caller of `forward` instead of crashing.
final class LazyPackedWeights: Sendable {
    private let tensors: OrderedDictionary<String, Tensor>
    private let configuration: RNNConfiguration
    private let isCell: Bool
    private let float = Mutex<[[PackedDirection<Float>]]?>(nil)
    private let double = Mutex<[[PackedDirection<Double>]]?>(nil)

    /// Keeps the module's checked tensors (under their PyTorch names, without prefix); packs nothing yet.
    init(tensors: OrderedDictionary<String, Tensor>, configuration: RNNConfiguration, isCell: Bool) {
        self.tensors = tensors
        self.configuration = configuration
        self.isCell = isCell
    }

    /// True once either precision has been packed (for tests: loading alone must not pack).
    var isPacked: Bool { float.withLock { $0 != nil } || double.withLock { $0 != nil } }

    /// [layer][direction] in float32, packed on the first call; float64 weights are rounded (the caller asked
    /// for float32 compute).
    func floatDirections() throws -> [[PackedDirection<Float>]] {
        try float.withLock { packed in
            if let packed { return packed }
            let made = try pack { $0.dtype == .float64 ? try $0.doubleValues().map(Float.init) : try $0.floatValues() }
            packed = made
            return made
        }
    }

    /// [layer][direction] in float64, packed on the first call.
    func doubleDirections() throws -> [[PackedDirection<Double>]] {
        try double.withLock { packed in
            if let packed { return packed }
            let made = try pack { try $0.doubleValues() }
            packed = made
            return made
        }
    }

    /// Each direction's tensors, widened to the compute type and packed.
    private func pack<S: ForwardScalar>(_ values: (Tensor) throws -> [S]) throws -> [[PackedDirection<S>]] {
        try (0..<configuration.numLayers).map { layer in
            try (0..<configuration.directions).map { direction in
                let suffix = isCell ? "" : "_l\(layer)" + (direction == 1 ? "_reverse" : "")
                return PackedDirection(
                    inputWeights: try values(tensors["weight_ih" + suffix]!),
                    recurrentWeights: try values(tensors["weight_hh" + suffix]!),
                    inputBias: try tensors["bias_ih" + suffix].map(values),
                    recurrentBias: try tensors["bias_hh" + suffix].map(values),
                    projectionWeights: try tensors["weight_hr" + suffix].map(values),
                    configuration: configuration)
            }
        }
    }
}
