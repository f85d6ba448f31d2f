import OrderedCollections

/// Named tensors in order, as in a PyTorch `state_dict`, with string metadata beside them.
///
/// Every format reads into and writes from this type. The metadata carries what weights cannot say (a
/// model's nonlinearity, say); formats store it their own way (NPZ: a `__metadata__` JSON string entry,
/// HDF5: root attributes).
public struct StateDict: Sendable, Equatable {
    /// The tensors by name, in the file's (or the caller's) order.
    public var tensors: OrderedDictionary<String, Tensor>
    /// String key-value pairs stored beside the tensors.
    public var metadata: Metadata

    /// The metadata's type: string keys and values in order.
    public typealias Metadata = OrderedDictionary<String, String>

    /// A state_dict from tensors and metadata (both empty by default).
    public init(tensors: OrderedDictionary<String, Tensor> = [:], metadata: OrderedDictionary<String, String> = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The tensor called `name`, if any.
    public subscript(name: String) -> Tensor? {
        get { tensors[name] }
        set { tensors[name] = newValue }
    }

    /// The tensor names in order.
    public var names: [String] { Array(tensors.keys) }

    /// The total byte count of all tensors.
    public var byteCount: Int { tensors.values.reduce(0) { $0 + $1.byteCount } }

    /// True when both hold the same tensors (dtype, shape and bytes) under the same names and the same metadata,
    /// in any order. Formats disagree about order (safetensors sorts the names, HDF5 lists them alphabetically),
    /// and a model read back from either is the same model; compare `names` too where the order matters.
    public static func == (lhs: StateDict, rhs: StateDict) -> Bool {
        lhs.tensors.count == rhs.tensors.count && lhs.metadata.count == rhs.metadata.count
            && lhs.tensors.allSatisfy { rhs.tensors[$0.key] == $0.value }
            && lhs.metadata.allSatisfy { rhs.metadata[$0.key] == $0.value }
    }
}
