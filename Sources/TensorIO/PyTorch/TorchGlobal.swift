/// A Python global a checkpoint may name, the same short list `torch.load(weights_only=True)` allows for a
/// tensor checkpoint: `collections.OrderedDict`, torch's tensor and parameter rebuild functions, the storage
/// types, the dtypes and `torch.Size`. Naming anything else is an error; nothing is ever imported or called.
enum TorchGlobal: Equatable {
    case orderedDict
    /// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`.
    case rebuildTensorV2
    /// `torch._utils._rebuild_tensor_v3(storage, offset, size, stride, requires_grad, hooks, dtype[, metadata])`.
    case rebuildTensorV3
    /// `torch._utils._rebuild_parameter(data, requires_grad, hooks)`.
    case rebuildParameter
    /// `torch._utils._rebuild_parameter_with_state(data, requires_grad, hooks, state)`.
    case rebuildParameterWithState
    /// `torch.Size(tuple)`.
    case torchSize
    /// A storage class (`torch.FloatStorage`, …, `torch.storage.UntypedStorage`) in a persistent id.
    case storageType(TorchStorageType)
    /// A dtype (`torch.float32`, …), as `_rebuild_tensor_v3` receives it.
    case dtype(DType)
    /// TorchScript archives only: a TorchScript class (`__torch__.…`), which `NEWOBJ` instantiates as an inert
    /// bag of attributes (`PickleObject`).
    case torchScriptClass(String)
    /// TorchScript archives only: `torch.jit._pickle.build_intlist` and its kin, and `restore_type_tag`, which
    /// give back their first argument (a list that TorchScript typed).
    case jitPickleHelper(String)

    /// The dotted Python name, e.g. `torch._utils._rebuild_tensor_v2`.
    var qualifiedName: String {
        switch self {
        case .orderedDict: "collections.OrderedDict"
        case .rebuildTensorV2: "torch._utils._rebuild_tensor_v2"
        case .rebuildTensorV3: "torch._utils._rebuild_tensor_v3"
        case .rebuildParameter: "torch._utils._rebuild_parameter"
        case .rebuildParameterWithState: "torch._utils._rebuild_parameter_with_state"
        case .torchSize: "torch.Size"
        case .storageType(let type): type.qualifiedName
        case .dtype(let dtype): "torch.\(dtype.rawValue)"
        case .torchScriptClass(let name): name
        case .jitPickleHelper(let name): "torch.jit._pickle.\(name)"
        }
    }

    /// The global `module.name`; throws `unsupportedFeature` (or `unsupportedDType` for a storage or dtype
    /// of an element type the library has not) for anything not on the list.
    static func resolve(module: String, name: String, path: String, torchScript: Bool = false) throws -> TorchGlobal {
        if torchScript {
            if module == "__torch__" || module.hasPrefix("__torch__.") { return .torchScriptClass("\(module).\(name)") }
            if module == "torch.jit._pickle", jitPickleHelpers.contains(name) { return .jitPickleHelper(name) }
        }
        switch (module, name) {
        case ("collections", "OrderedDict"): return .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensorV2
        case ("torch._utils", "_rebuild_tensor_v3"): return .rebuildTensorV3
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): return .rebuildParameterWithState
        case ("torch", "Size"): return .torchSize
        default: break
        }
        if let type = TorchStorageType(module: module, name: name) { return .storageType(type) }
        if module == "torch", let dtype = dtypes[name] { return .dtype(dtype) }
        if module == "torch", unsupportedDTypes.contains(name) {
            throw TensorFileError(path: path, problem: .unsupportedDType("torch.\(name) (the library reads floating-point, integer and bool tensors)"))
        }
        throw TensorFileError(path: path, problem: .unsupportedFeature(
            "pickle global \(module).\(name) is not allowed (a checkpoint may name only tensors, storages, dtypes, torch.Size and OrderedDict\(torchScript ? ", a TorchScript archive also its own __torch__ classes and torch.jit._pickle's list builders" : ""))"))
    }

    /// The `torch.jit._pickle` functions a TorchScript archive's pickle may call: each returns its first argument.
    private static let jitPickleHelpers: Set<String> = [
        "build_intlist", "build_doublelist", "build_boollist", "build_tensorlist", "restore_type_tag",
    ]

    /// torch's dtype names (and aliases) for the dtypes the library has.
    private static let dtypes: [String: DType] = [
        "float16": .float16, "half": .float16, "bfloat16": .bfloat16, "float32": .float32, "float": .float32,
        "float64": .float64, "double": .float64, "int8": .int8, "int16": .int16, "short": .int16,
        "int32": .int32, "int": .int32, "int64": .int64, "long": .int64, "uint8": .uint8, "uint16": .uint16,
        "uint32": .uint32, "uint64": .uint64, "bool": .bool,
    ]

    /// torch dtypes and storage classes the library has no counterpart for (named so that the error says
    /// "element type" rather than "not allowed").
    private static let unsupportedDTypes: Set<String> = [
        "ComplexFloatStorage", "ComplexDoubleStorage", "QInt8Storage", "QUInt8Storage", "QInt32Storage",
        "QUInt4x2Storage", "QUInt2x4Storage",
        "complex32", "complex64", "complex128", "cfloat", "cdouble", "chalf", "float8_e5m2", "float8_e4m3fn",
        "float8_e5m2fnuz", "float8_e4m3fnuz", "float8_e8m0fnu", "float4_e2m1fn_x2", "qint8", "quint8", "qint32",
        "quint4x2", "quint2x4", "bits8", "bits16", "bits1x8", "bits2x4", "bits4x2", "bcomplex32",
    ]
}
