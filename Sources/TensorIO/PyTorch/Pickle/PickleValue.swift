/// A value the restricted unpickler builds: Python's plain data, the allowed globals, and the storages and
/// tensors that torch's persistent ids and rebuild functions describe.
///
/// Mutable containers (lists, dicts) and tuples are classes, as in Python, so that the memo shares them;
/// `PickleMachine` empties them all when it is done, which breaks any cycle a hostile pickle built.
enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer beyond 64 bits (LONG1/LONG4); only its existence is kept.
    case largeInt
    case float(Double)
    case string(String)
    /// A bytes object (protocol 3 and later); only its length is kept.
    case bytes(Int)
    case tuple(PickleTuple)
    case list(PickleList)
    case dict(PickleDict)
    /// A reference to one of the globals a checkpoint may name (never called, never imported).
    case global(TorchGlobal)
    /// A storage, from a persistent id `('storage', torch.FloatStorage, key, location, numel)`.
    case storage(StorageReference)
    /// A tensor, from `torch._utils._rebuild_tensor_v2` (or v3, or `_rebuild_parameter`).
    case tensor(TensorReference)
    /// An instance of a TorchScript class (TorchScript archives only): its attributes, never its code.
    case object(PickleObject)

    /// Python's name for the value's type, for messages ("int", "str", "tuple", …).
    var typeName: String {
        switch self {
        case .none: "NoneType"
        case .bool: "bool"
        case .int, .largeInt: "int"
        case .float: "float"
        case .string: "str"
        case .bytes: "bytes"
        case .tuple: "tuple"
        case .list: "list"
        case .dict(let dict): dict.isOrderedDict ? "OrderedDict" : "dict"
        case .global(let global): global.qualifiedName
        case .storage: "storage"
        case .tensor: "Tensor"
        case .object(let object): object.className
        }
    }
}
