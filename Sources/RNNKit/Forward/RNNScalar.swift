#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Float or Double: the types the forward pass computes in.
public protocol RNNScalar: BinaryFloatingPoint, TensorElement {
    /// The C library's hyperbolic tangent for this type.
    static func hyperbolicTangent(_ x: Self) -> Self
    /// The C library's e^x for this type.
    static func exponential(_ x: Self) -> Self
}

extension Float: RNNScalar {
    public static func hyperbolicTangent(_ x: Float) -> Float { tanhf(x) }
    public static func exponential(_ x: Float) -> Float { expf(x) }
}

extension Double: RNNScalar {
    public static func hyperbolicTangent(_ x: Double) -> Double { tanh(x) }
    public static func exponential(_ x: Double) -> Double { exp(x) }
}
