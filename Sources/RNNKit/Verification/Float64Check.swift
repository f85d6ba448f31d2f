/// A second opinion on a float32 mismatch: how far our values and the expected ones each are from the same model
/// computed in float64, which tells float32 rounding (both about as far) from a real difference (one far off).
///
/// The float64 values come from the same state_dict loaded with `RNNLoadOptions(precision: .float64)` (and the
/// same prefix, nonlinearity and batch-first options) run on the same inputs; float32 inputs widen exactly.
///
/// ```swift
/// let reference = try RNN(stateDict: stateDict, options: RNNLoadOptions(precision: .float64)).forward(input)
/// let check = try Float64Check(actual: ours.output, expected: torchOutput, float64: reference.output)
/// print(check.verdict)   // .rounding, .oursCloser, .expectedCloser or .neitherClose
/// ```
public struct Float64Check: Sendable, Equatable {
    /// What the two distances from float64 say.
    public enum Verdict: String, Sendable, CaseIterable {
        /// Each distance is within `roundingFactor` times the other (both raised to `roundingFloor`): two float32
        /// computations of the same values, rounded differently. When both are large, float32 is not precise
        /// enough for this model and input, but neither side is wrong.
        case rounding
        /// Ours is more than `roundingFactor` times closer to float64: the expected values differ for another
        /// reason than rounding.
        case oursCloser = "ours_closer"
        /// The expected values are more than `roundingFactor` times closer to float64: ours are off.
        case expectedCloser = "expected_closer"
        /// Both differ from float64 in a way no factor measures: a NaN or an infinity on each side where float64
        /// has something else.
        case neitherClose = "neither_close"
    }

    /// How many times farther from float64 one side may be than the other and still count as rounding: 8.
    ///
    /// Over the float32 torch fixtures PyTorch's results and ours are at most 3.2 times apart in their distance
    /// from float64 (hidden 512: ours 3.7e-7, PyTorch's 1.2e-7), so 8 leaves room for other BLAS and longer
    /// sequences; a difference that fails the default tolerance (1e-5) from anything but rounding is a hundred
    /// times the rounding of either side.
    public static let roundingFactor = 8.0

    /// The largest |ours − float64| (infinite where one is NaN or an infinity and the other is not the same).
    public var oursFromFloat64: Double
    /// The largest |expected − float64|, alike.
    public var expectedFromFloat64: Double
    /// Half the float32 spacing at the largest finite |float64| value: what storing the float64 result in float32
    /// alone may cost. Smaller distances count as this much, so that a correctly rounded result is not called
    /// closer than one a unit in the last place away.
    public var roundingFloor: Double

    /// The verdict of the two distances.
    public var verdict: Verdict {
        if oursFromFloat64.isInfinite, expectedFromFloat64.isInfinite { return .neitherClose }
        let ours = max(oursFromFloat64, roundingFloor), expected = max(expectedFromFloat64, roundingFloor)
        if ours <= Self.roundingFactor * expected, expected <= Self.roundingFactor * ours { return .rounding }
        return ours < expected ? .oursCloser : .expectedCloser
    }

    /// A check of the distances given (`roundingFloor` 0: the distances as they are).
    public init(oursFromFloat64: Double, expectedFromFloat64: Double, roundingFloor: Double = 0) {
        self.oursFromFloat64 = oursFromFloat64
        self.expectedFromFloat64 = expectedFromFloat64
        self.roundingFloor = roundingFloor
    }

    /// Measures how far `actual` (ours) and `expected` each are from `float64`, the same model computed in
    /// float64. Throws `TensorComparisonError` when a tensor is not floating-point or the shapes differ.
    public init(actual: Tensor, expected: Tensor, float64: Tensor) throws {
        for (operand, tensor) in [(TensorComparisonError.Operand.actual, actual), (.expected, expected), (.float64, float64)] {
            guard tensor.dtype.isFloatingPoint else { throw TensorComparisonError.notFloatingPoint(operand: operand, dtype: tensor.dtype) }
        }
        for (operand, tensor) in [(TensorComparisonError.Operand.expected, expected), (.float64, float64)] where tensor.shape != actual.shape {
            throw TensorComparisonError.shapeMismatch(operand: operand, expected: actual.shape, found: tensor.shape)
        }
        let reference = try float64.doubleValues()
        let largest = Float(reference.lazy.filter(\.isFinite).map(abs).max() ?? 0)
        let spacing = largest.isFinite ? largest.ulp : Float.greatestFiniteMagnitude.ulp
        self.init(oursFromFloat64: Self.distance(try actual.doubleValues(), reference),
                  expectedFromFloat64: Self.distance(try expected.doubleValues(), reference),
                  roundingFloor: Double(spacing) / 2)
    }

    /// The largest elementwise distance: 0 for NaN against NaN and for the same infinity, infinite for a NaN or an
    /// infinity against anything else.
    private static func distance(_ values: [Double], _ reference: [Double]) -> Double {
        var largest = 0.0
        for (x, y) in zip(values, reference) {
            if x.isNaN || y.isNaN {
                if x.isNaN != y.isNaN { return .infinity }
            } else if x.isInfinite || y.isInfinite {
                if x != y { return .infinity }
            } else {
                largest = max(largest, abs(x - y))
            }
        }
        return largest
    }
}
