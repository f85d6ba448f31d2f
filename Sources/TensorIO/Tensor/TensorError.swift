/// Why a tensor could not be made or viewed as asked.
public enum TensorError: Error, Equatable, CustomStringConvertible {
    /// A dimension is negative, or the element count or byte count overflows `Int`.
    case invalidShape([Int])
    /// The number of values given does not fit the shape.
    case elementCountMismatch(shape: [Int], count: Int)
    /// The tensor holds another dtype than the one asked for.
    case dtypeMismatch(expected: DType, found: DType)
    /// Converting this dtype to the target type could round some values.
    case inexactWidening(from: DType, to: String)

    public var description: String {
        switch self {
        case .invalidShape(let shape):
            "shape \(shape) is invalid: a dimension is negative or the size overflows"
        case .elementCountMismatch(let shape, let count):
            "shape \(shape) holds \(Tensor.elementCount(of: shape) ?? -1) elements, but \(count) values were given"
        case .dtypeMismatch(let expected, let found):
            "the tensor is \(found), not \(expected)"
        case .inexactWidening(let from, let target):
            "\(from) values do not all convert exactly to \(target)"
        }
    }
}
