/// The element type of a tensor: the dtypes PyTorch state_dicts use, stored in native (little-endian) order.
public enum DType: String, Sendable, CaseIterable, CustomStringConvertible {
    case float16, bfloat16, float32, float64
    case int8, int16, int32, int64
    case uint8, uint16, uint32, uint64
    case bool

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .int8, .uint8, .bool: 1
        case .float16, .bfloat16, .int16, .uint16: 2
        case .float32, .int32, .uint32: 4
        case .float64, .int64, .uint64: 8
        }
    }

    /// True for the four floating-point types.
    public var isFloatingPoint: Bool {
        switch self {
        case .float16, .bfloat16, .float32, .float64: true
        default: false
        }
    }

    /// True when every value of this type converts to `Float` without rounding.
    public var widensExactlyToFloat: Bool {
        switch self {
        case .float16, .bfloat16, .float32, .int8, .int16, .uint8, .uint16, .bool: true
        case .float64, .int32, .int64, .uint32, .uint64: false
        }
    }

    /// True when every value of this type converts to `Double` without rounding.
    public var widensExactlyToDouble: Bool {
        switch self {
        case .int64, .uint64: false
        default: true
        }
    }

    public var description: String { rawValue }
}
