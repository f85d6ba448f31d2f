extension DType {
    /// The dtype named by a safetensors header's `"dtype"` code (`"F32"`, `"BF16"`, `"BOOL"`…), or nil for the
    /// codes this library does not hold (`F8_E4M3`, `F8_E5M2`, `C64`, …) and for unknown text.
    init?(safeTensorsCode code: String) {
        guard let dtype = DType.allCases.first(where: { $0.safeTensorsCode == code }) else { return nil }
        self = dtype
    }

    /// The safetensors header's code for this dtype.
    var safeTensorsCode: String {
        switch self {
        case .float16: "F16"
        case .bfloat16: "BF16"
        case .float32: "F32"
        case .float64: "F64"
        case .int8: "I8"
        case .int16: "I16"
        case .int32: "I32"
        case .int64: "I64"
        case .uint8: "U8"
        case .uint16: "U16"
        case .uint32: "U32"
        case .uint64: "U64"
        case .bool: "BOOL"
        }
    }

    /// The position of this dtype in safetensors' `Dtype` enum, which the writer sorts by, largest first,
    /// so that every tensor's data starts aligned to its element size (safetensors/src/tensor.rs, `prepare`).
    var safeTensorsWriteRank: Int {
        switch self {
        case .bool: 0
        case .uint8: 1
        case .int8: 2
        case .int16: 3
        case .uint16: 4
        case .float16: 5
        case .bfloat16: 6
        case .int32: 7
        case .uint32: 8
        case .float32: 9
        case .float64: 10
        case .int64: 11
        case .uint64: 12
        }
    }
}
