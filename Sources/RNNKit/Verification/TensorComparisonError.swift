/// Why two tensors (or a float64 reference) cannot be compared at all.
public enum TensorComparisonError: Error, Equatable, CustomStringConvertible {
    /// Which tensor of a comparison is at fault.
    public enum Operand: String, Sendable {
        /// The values computed here.
        case actual
        /// The values compared against (PyTorch's).
        case expected
        /// The float64 recomputation of a `Float64Check`.
        case float64
    }

    /// A tensor of an integer or bool dtype: outputs of an RNN are floating-point, so comparing it would judge a
    /// truncation, not a computation.
    case notFloatingPoint(operand: Operand, dtype: DType)
    /// A tensor of a `Float64Check` whose shape differs from the actual tensor's.
    case shapeMismatch(operand: Operand, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case .notFloatingPoint(let operand, let dtype):
            "the \(operand.rawValue) tensor is \(dtype), not float16, bfloat16, float32 or float64"
        case .shapeMismatch(let operand, let expected, let found):
            "the \(operand.rawValue) tensor has shape \(found), expected \(expected)"
        }
    }
}
