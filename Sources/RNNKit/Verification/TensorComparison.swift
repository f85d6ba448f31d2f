/// How far one tensor is from another, judged by `numpy.allclose`'s rule.
///
/// An element passes when |actual − expected| ≤ atol + rtol·|expected|; NaN passes only against NaN, and an
/// infinity only against the same infinity. Tensors of different shapes do not match at all.
public struct TensorComparison: Sendable, Equatable {
    /// The actual tensor's shape.
    public var actualShape: [Int]
    /// The expected tensor's shape.
    public var expectedShape: [Int]
    /// The largest |actual − expected| over all elements (0 when the shapes differ or there are none).
    public var maxAbsoluteError: Double
    /// The largest |actual − expected| / |expected| over elements whose expected value is not 0.
    public var maxRelativeError: Double
    /// The flat row-major index of the element that exceeds its allowance most (nil when every element passes).
    public var worstIndex: Int?
    /// How many elements fail the rule.
    public var failing: Int
    /// The element count compared.
    public var count: Int

    /// True when the shapes agree and every element passes.
    public var matches: Bool { actualShape == expectedShape && failing == 0 }

    /// Compares `actual` with `expected` (any float dtypes; both widened exactly to Double).
    public init(actual: Tensor, expected: Tensor, atol: Double, rtol: Double) throws {
        actualShape = actual.shape
        expectedShape = expected.shape
        maxAbsoluteError = 0
        maxRelativeError = 0
        failing = 0
        count = 0
        guard actual.shape == expected.shape else { return }
        let a = try actual.doubleValues(), e = try expected.doubleValues()
        count = a.count
        var worstExcess = -Double.infinity
        for i in 0..<a.count {
            let x = a[i], y = e[i]
            let passes: Bool
            var excess: Double
            if x.isNaN || y.isNaN {
                passes = x.isNaN && y.isNaN
                excess = passes ? -Double.infinity : Double.infinity
            } else if x.isInfinite || y.isInfinite {
                passes = x == y
                excess = passes ? -Double.infinity : Double.infinity
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
