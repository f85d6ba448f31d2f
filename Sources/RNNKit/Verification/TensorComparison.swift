/// How far one tensor is from another, judged by `numpy.allclose`'s rule.
///
/// An element passes when |actual − expected| ≤ atol + rtol·|expected|; NaN passes only against NaN, and an
/// infinity only against the same infinity. Tensors of different shapes do not match at all. The largest errors
/// are over the elements where both values are finite; the failures NaN and infinities cause are counted apart,
/// so that a report can say how many there are instead of hiding them behind a small error.
///
/// Both tensors must be floating-point: an integer expected tensor is refused, not compared. PyTorch's RNN outputs
/// are always floating-point, so integer expected values mean another file or a cast that truncated them
/// (`astype(int)`); compared, they would report the truncation as our error (every element failing with a
/// relative error of 0 where values truncated to 0), and int64 does not even widen exactly to Double.
public struct TensorComparison: Sendable, Equatable {
    /// The actual tensor's shape.
    public var actualShape: [Int]
    /// The expected tensor's shape.
    public var expectedShape: [Int]
    /// The largest |actual − expected| over elements where both are finite (0 when the shapes differ or there
    /// are none).
    public var maxAbsoluteError: Double
    /// The largest |actual − expected| / |expected| over elements where both are finite and expected is not 0.
    public var maxRelativeError: Double
    /// The flat row-major index of the element that exceeds its allowance most (nil when every element passes);
    /// a NaN or infinity mismatch exceeds any finite one, and the first of those is the worst.
    public var worstIndex: Int?
    /// How many elements fail the rule, NaN and infinity mismatches included.
    public var failing: Int
    /// How many failing elements are NaN where expected is a number (finite or infinite).
    public var nanWhereNumberExpected: Int
    /// How many failing elements are a number (finite or infinite) where expected is NaN.
    public var numberWhereNaNExpected: Int
    /// How many failing elements have an infinity on either side and no NaN: +inf against −inf, or an infinity
    /// against a finite value.
    public var infinityMismatches: Int
    /// The element count compared.
    public var count: Int

    /// True when the shapes agree and every element passes.
    public var matches: Bool { actualShape == expectedShape && failing == 0 }

    /// How many elements fail with both values finite (the ones `maxAbsoluteError` describes).
    public var finiteFailing: Int { failing - nanWhereNumberExpected - numberWhereNaNExpected - infinityMismatches }

    /// Compares `actual` with `expected` (float16, bfloat16, float32 or float64, both widened exactly to Double).
    ///
    /// Throws `TensorComparisonError.notFloatingPoint` for an integer or bool tensor, whatever the shapes.
    public init(actual: Tensor, expected: Tensor, atol: Double, rtol: Double) throws {
        guard actual.dtype.isFloatingPoint else { throw TensorComparisonError.notFloatingPoint(operand: .actual, dtype: actual.dtype) }
        guard expected.dtype.isFloatingPoint else { throw TensorComparisonError.notFloatingPoint(operand: .expected, dtype: expected.dtype) }
        actualShape = actual.shape
        expectedShape = expected.shape
        maxAbsoluteError = 0
        maxRelativeError = 0
        failing = 0
        nanWhereNumberExpected = 0
        numberWhereNaNExpected = 0
        infinityMismatches = 0
        count = 0
        guard actual.shape == expected.shape else { return }
        let a = try actual.doubleValues(), e = try expected.doubleValues()
        count = a.count
        var worstExcess = -Double.infinity
        for i in 0..<a.count {
            let x = a[i], y = e[i]
            let passes: Bool
            var excess = Double.infinity
            if x.isNaN || y.isNaN {
                passes = x.isNaN && y.isNaN
                if !passes, x.isNaN { nanWhereNumberExpected += 1 }
                if !passes, y.isNaN { numberWhereNaNExpected += 1 }
            } else if x.isInfinite || y.isInfinite {
                passes = x == y
                if !passes { infinityMismatches += 1 }
            } else {
                let difference = abs(x - y)
                maxAbsoluteError = max(maxAbsoluteError, difference)
                if y != 0 { maxRelativeError = max(maxRelativeError, difference / abs(y)) }
                let allowance = atol + rtol * abs(y)
                passes = difference <= allowance
                excess = difference - allowance
            }
            if !passes {
                failing += 1
                if excess > worstExcess {
                    worstExcess = excess
                    worstIndex = i
                }
            }
        }
    }

    /// The multi-dimensional index of the flat `index` in the expected shape.
    public func coordinates(of index: Int) -> [Int] {
        var rest = index
        var result = [Int](repeating: 0, count: expectedShape.count)
        for axis in stride(from: expectedShape.count - 1, through: 0, by: -1) where expectedShape[axis] > 0 {
            result[axis] = rest % expectedShape[axis]
            rest /= expectedShape[axis]
        }
        return result
    }
}
