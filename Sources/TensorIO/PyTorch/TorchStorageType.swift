/// A torch storage class named in a persistent id, and the element type of its data.
///
/// `torch.save` names a tensor's storage by its legacy typed class (`torch.FloatStorage` for float32 data),
/// or by `torch.storage.UntypedStorage` (bytes) for the dtypes that have no such class (uint16, uint32,
/// uint64), whose tensors come with their dtype through `_rebuild_tensor_v3`.
struct TorchStorageType: Equatable {
    /// The class name, e.g. `FloatStorage`.
    let name: String
    /// The element type of the storage: `uint8` for an untyped storage.
    let dtype: DType

    /// True for `UntypedStorage`, whose element count is a byte count.
    var isUntyped: Bool { name == "UntypedStorage" }

    /// The dotted Python name, e.g. `torch.FloatStorage`.
    var qualifiedName: String { isUntyped ? "torch.storage.UntypedStorage" : "torch.\(name)" }

    /// The storage class `module.name`, or nil when it is not one the library reads.
    init?(module: String, name: String) {
        if name == "UntypedStorage", module == "torch" || module == "torch.storage" {
            self.name = name
            self.dtype = .uint8
            return
        }
        guard module == "torch", let dtype = Self.typed[name] else { return nil }
        self.name = name
        self.dtype = dtype
    }

    private static let typed: [String: DType] = [
        "FloatStorage": .float32, "DoubleStorage": .float64, "HalfStorage": .float16, "BFloat16Storage": .bfloat16,
        "LongStorage": .int64, "IntStorage": .int32, "ShortStorage": .int16, "CharStorage": .int8,
        "ByteStorage": .uint8, "BoolStorage": .bool,
    ]
}
