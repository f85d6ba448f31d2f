#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Float or Double: the types the forward pass computes in.
public protocol RNNScalar: BinaryFloatingPoint, TensorElement {
    /// The C library's hyperbolic tangent for this type.
    static func hyperbolicTangent(_ x: Self) -> Self
}

extension Float: RNNScalar {
    public static func hyperbolicTangent(_ x: Float) -> Float { tanhf(x) }
}

extension Double: RNNScalar {
    public static func hyperbolicTangent(_ x: Double) -> Double { tanh(x) }
}
