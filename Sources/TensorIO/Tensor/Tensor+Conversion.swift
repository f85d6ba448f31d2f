extension Tensor {
    /// This tensor with its floating-point values converted to `dtype` (another floating-point type).
    ///
    /// Widening is exact; narrowing rounds to nearest, ties to even, as `torch.Tensor.to` does (float64 goes to
    /// bfloat16 through float32, as PyTorch's own conversion does). Throws `TensorError.dtypeMismatch` when
    /// either dtype is not floating-point.
    public func converted(to target: DType) throws -> Tensor {
        guard target != dtype else { return self }
        guard dtype.isFloatingPoint, target.isFloatingPoint else {
            throw TensorError.dtypeMismatch(expected: target, found: dtype)
        }
        if dtype == .float64 {
            let values = try doubleValues()
            return switch target {
            case .float16: try Tensor(shape: shape, elements: values.map { Float16($0) })
            case .bfloat16: try Tensor(shape: shape, elements: values.map { BFloat16(Float($0)) })
            default: try Tensor(shape: shape, elements: values.map { Float($0) })
            }
        }
        let values = try floatValues()
        return switch target {
        case .float16: try Tensor(shape: shape, elements: values.map { Float16($0) })
        case .bfloat16: try Tensor(shape: shape, elements: values.map { BFloat16($0) })
        case .float32: try Tensor(shape: shape, elements: values)
        default: try Tensor(shape: shape, elements: values.map { Double($0) })
        }
    }
}
