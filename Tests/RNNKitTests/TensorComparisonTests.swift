import Foundation
import Testing
@testable import RNNKit

/// `TensorComparison` is the parity oracle of every test and of rnn-verify: its rule (numpy.allclose), its NaN and
/// infinity accounting, its worst element and its refusals, element by element.
struct TensorComparisonTests {
    /// Compares two float64 vectors with `atol` and `rtol`.
    func compare(_ actual: [Double], _ expected: [Double], atol: Double = 1e-6, rtol: Double = 0) throws -> TensorComparison {
        try TensorComparison(actual: Tensor(shape: [actual.count], elements: actual),
                             expected: Tensor(shape: [expected.count], elements: expected), atol: atol, rtol: rtol)
    }

    @Test func nanAgainstNaNPasses() throws {
        let c = try compare([.nan, 1], [.nan, 1])
        #expect(c.matches)
        #expect(c.failing == 0 && c.nanWhereNumberExpected == 0 && c.numberWhereNaNExpected == 0)
        #expect(c.worstIndex == nil)
    }

    @Test func nanWhereANumberIsExpectedFailsAndIsCountedApart() throws {
        let c = try compare([1, .nan, 2], [1, 5, 2])
        #expect(!c.matches)
        #expect(c.failing == 1)
        #expect(c.nanWhereNumberExpected == 1 && c.numberWhereNaNExpected == 0 && c.infinityMismatches == 0)
        #expect(c.finiteFailing == 0)
        #expect(c.maxAbsoluteError == 0)
        #expect(c.worstIndex == 1)
    }

    @Test func aNumberWhereNaNIsExpectedFailsAndIsCountedApart() throws {
        let c = try compare([3, 1, .infinity], [.nan, 1, .nan])
        #expect(c.failing == 2)
        #expect(c.numberWhereNaNExpected == 2 && c.nanWhereNumberExpected == 0 && c.infinityMismatches == 0)
        #expect(c.worstIndex == 0)
    }

    @Test func sameInfinityPasses() throws {
        let c = try compare([.infinity, -.infinity], [.infinity, -.infinity])
        #expect(c.matches)
        #expect(c.maxAbsoluteError == 0 && c.maxRelativeError == 0)
    }

    @Test func oppositeInfinitiesFail() throws {
        let c = try compare([.infinity, -.infinity], [-.infinity, .infinity], atol: .greatestFiniteMagnitude)
        #expect(c.failing == 2 && c.infinityMismatches == 2)
        #expect(c.nanWhereNumberExpected == 0 && c.numberWhereNaNExpected == 0)
    }

    @Test func infinityAgainstAFiniteValueFailsEitherWay() throws {
        let c = try compare([.infinity, 1, 2], [1e300, -.infinity, 2], atol: 1, rtol: 1)
        #expect(c.failing == 2 && c.infinityMismatches == 2)
        #expect(c.finiteFailing == 0)
        #expect(c.maxAbsoluteError == 0, "infinities stay out of the largest error")
        #expect(c.worstIndex == 0, "the first non-finite failure is the worst")
    }

    @Test func nonFiniteFailureIsWorseThanAnyFiniteOne() throws {
        let c = try compare([10, 1, .nan], [0, 1, 1])
        #expect(c.failing == 2 && c.finiteFailing == 1 && c.nanWhereNumberExpected == 1)
        #expect(c.maxAbsoluteError == 10)
        #expect(c.worstIndex == 2)
    }

    @Test func shapeMismatchDoesNotMatchAndComparesNothing() throws {
        let c = try TensorComparison(actual: Tensor(zeros: .float32, shape: [2, 3]), expected: Tensor(zeros: .float32, shape: [3, 2]),
                                     atol: 1, rtol: 1)
        #expect(!c.matches)
        #expect(c.count == 0 && c.failing == 0)
        #expect(c.maxAbsoluteError == 0 && c.worstIndex == nil)
        #expect(c.actualShape == [2, 3] && c.expectedShape == [3, 2])
    }

    @Test func emptyTensorsMatch() throws {
        let c = try TensorComparison(actual: Tensor(zeros: .float32, shape: [0, 4]), expected: Tensor(zeros: .float32, shape: [0, 4]),
                                     atol: 0, rtol: 0)
        #expect(c.matches)
        #expect(c.count == 0 && c.failing == 0 && c.worstIndex == nil)
    }

    @Test func worstIsTheLargestExcessOverTheAllowanceWithItsCoordinates() throws {
        // [2, 3, 4]: flat 23 is [1, 2, 3]. Flat 5 has the larger absolute error but also the larger allowance.
        var actual = [Double](repeating: 1, count: 24), expected = actual
        expected[5] = 100
        actual[5] = 100.9  // allowance 0.01 + 0.01·100 = 1.01: passes
        actual[23] = 1.5  // allowance 0.02: fails by 0.48
        actual[7] = 1.1  // fails by 0.08
        let c = try TensorComparison(actual: Tensor(shape: [2, 3, 4], elements: actual), expected: Tensor(shape: [2, 3, 4], elements: expected),
                                     atol: 0.01, rtol: 0.01)
        #expect(c.failing == 2)
        #expect(c.worstIndex == 23)
        #expect(c.coordinates(of: 23) == [1, 2, 3])
        #expect(c.coordinates(of: 7) == [0, 1, 3])
        #expect(abs(c.maxAbsoluteError - 0.9) < 1e-12)
        #expect(abs(c.maxRelativeError - 0.5) < 1e-12)
    }

    @Test func coordinatesOfAScalarAreEmpty() throws {
        let c = try TensorComparison(actual: Tensor(shape: [], elements: [Float(2)]), expected: Tensor(shape: [], elements: [Float(1)]),
                                     atol: 0, rtol: 0)
        #expect(c.count == 1 && c.failing == 1 && c.worstIndex == 0)
        #expect(c.coordinates(of: 0) == [])
    }

    @Test func exactlyTheAllowancePasses() throws {
        // Binary fractions, so that |actual − expected| and atol + rtol·|expected| are exact: 0.5 = 0.25 + 0.25·1.
        #expect(try compare([1.5], [1], atol: 0.25, rtol: 0.25).matches)
        #expect(try compare([0.5], [1], atol: 0.25, rtol: 0.25).matches)
        #expect(!(try compare([(1.5).nextUp], [1], atol: 0.25, rtol: 0.25).matches))
        #expect(try compare([2], [1], atol: 1, rtol: 0).matches)
        #expect(try compare([3], [2], atol: 0, rtol: 0.5).matches)
        #expect(!(try compare([3], [2], atol: 0, rtol: (0.5).nextDown).matches))
        #expect(try compare([0], [0], atol: 0, rtol: 0).matches)
    }

    @Test func relativeErrorSkipsExpectedZeros() throws {
        let c = try compare([1e-3, 2], [0, 1], atol: 1)
        #expect(c.maxRelativeError == 1)
        #expect(c.maxAbsoluteError == 1)
    }

    @Test func float16AndFloat64WidenExactly() throws {
        // Float16(0.1) is 0.0999755859375, about 2.44e-5 from the float64 0.1.
        let half = try Tensor(shape: [2], elements: [Float16(0.1), Float16(-2)])
        let double = try Tensor(shape: [2], elements: [0.1, -2.0])
        let c = try TensorComparison(actual: half, expected: double, atol: 0, rtol: 0)
        #expect(c.failing == 1 && c.worstIndex == 0)
        #expect(c.maxAbsoluteError == abs(0.1 - Double(Float16(0.1))))
        #expect(try TensorComparison(actual: half, expected: double, atol: 2.5e-5, rtol: 0).matches)
        #expect(try TensorComparison(actual: double, expected: half, atol: 2.4e-5, rtol: 0).failing == 1)
        let bfloat = try Tensor(shape: [2], elements: [BFloat16(Float(0.1)), BFloat16(Float(-2))])
        #expect(try TensorComparison(actual: bfloat, expected: double, atol: 0, rtol: 0).maxAbsoluteError == abs(0.1 - Double(BFloat16(Float(0.1)).floatValue)))
    }

    /// int32 widens exactly to Double (`doubleValues()` would give the integers), so refusing it is a choice: see
    /// `TensorComparison`.
    @Test(arguments: [DType.int32, .int64, .uint8, .bool])
    func integerTensorsAreRefused(_ dtype: DType) throws {
        let integers = try Tensor(zeros: dtype, shape: [2, 3])
        let floats = try Tensor(zeros: .float32, shape: [2, 3])
        #expect(throws: TensorComparisonError.notFloatingPoint(operand: .expected, dtype: dtype)) {
            try TensorComparison(actual: floats, expected: integers, atol: 1, rtol: 1)
        }
        #expect(throws: TensorComparisonError.notFloatingPoint(operand: .actual, dtype: dtype)) {
            try TensorComparison(actual: integers, expected: try Tensor(zeros: .float32, shape: [5]), atol: 1, rtol: 1)
        }
    }

    @Test func int32WidensExactlyToDouble() throws {
        let values: [Int32] = [.max, .min, 0, -7]
        #expect(try Tensor(shape: [4], elements: values).doubleValues() == values.map(Double.init))
    }

    @Test func defaultsAreTorchTestingsForFloat32AndStrictForFloat64() {
        #expect(Tolerance.default(for: .float32) == Tolerance(atol: 1e-5, rtol: 1.3e-6))
        #expect(Tolerance.default(for: .float64) == Tolerance(atol: 1e-14, rtol: 1e-12))
    }
}
