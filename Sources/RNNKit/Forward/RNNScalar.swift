import CRecurrentKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Float or Double: the types the forward pass computes in.
protocol RNNScalar: BinaryFloatingPoint, TensorElement {
    /// The C library's hyperbolic tangent for this type.
    static func hyperbolicTangent(_ x: Self) -> Self
    /// The C library's e^x for this type.
    static func exponential(_ x: Self) -> Self
}

extension Float: RNNScalar {
    static func hyperbolicTangent(_ x: Float) -> Float { tanhf(x) }
    static func exponential(_ x: Float) -> Float { expf(x) }
}

extension Double: RNNScalar {
    static func hyperbolicTangent(_ x: Double) -> Double { tanh(x) }
    static func exponential(_ x: Double) -> Double { exp(x) }
}

/// What the fast forward pass needs of its scalar type: the C kernels of that precision.
protocol ForwardScalar: RNNScalar {
    /// Hidden units per packed block (one 64-byte vector): 16 floats or 8 doubles.
    static var packBlock: Int { get }
    /// Elements of `rk_pack` output for a [gates·units, columns] matrix.
    static func packedCount(gates: Int, units: Int, columns: Int) -> Int
    /// Packs `weights` ([gates·units, columns] row-major; nil for zeros) into `packed` (see recurrent_kernels.h).
    static func pack(_ weights: UnsafePointer<Self>?, gates: Int, units: Int, columns: Int, into packed: UnsafeMutablePointer<Self>)
    /// out = x·wᵀ with the C kernels (rk_project): w packed by `pack` (gates 1), rows of x and out with strides.
    static func project(x: UnsafePointer<Self>, ldx: Int, rows: Int, columns: Int, weights: UnsafePointer<Self>, units: Int,
                        out: UnsafeMutablePointer<Self>, ldout: Int, kernels: Int32)
    /// Runs one direction of one layer over the job's steps, as member `member` of the threads sharing `schedule`.
    static func runSequence(_ job: SequenceJob<Self>, member: Int, schedule: OpaquePointer?)
}

extension Float: ForwardScalar {
    static var packBlock: Int { Int(RK_BLOCK_F32) }
    static func packedCount(gates: Int, units: Int, columns: Int) -> Int {
        rk_packed_count_f32(Int32(gates), Int32(units), Int32(columns))
    }
    static func pack(_ weights: UnsafePointer<Float>?, gates: Int, units: Int, columns: Int, into packed: UnsafeMutablePointer<Float>) {
        rk_pack_f32(weights, Int32(gates), Int32(units), Int32(columns), packed)
    }
    static func project(x: UnsafePointer<Float>, ldx: Int, rows: Int, columns: Int, weights: UnsafePointer<Float>, units: Int,
                        out: UnsafeMutablePointer<Float>, ldout: Int, kernels: Int32) {
        rk_project_f32(x, ldx, Int32(rows), Int32(columns), weights, Int32(units), out, ldout, kernels)
    }
    static func runSequence(_ job: SequenceJob<Float>, member: Int, schedule: OpaquePointer?) {
        var sequence = rk_sequence_f32()
        job.fill(&sequence)
        rk_sequence_run_f32(&sequence, Int32(member), schedule, job.kernels)
    }
}

extension Double: ForwardScalar {
    static var packBlock: Int { Int(RK_BLOCK_F64) }
    static func packedCount(gates: Int, units: Int, columns: Int) -> Int {
        rk_packed_count_f64(Int32(gates), Int32(units), Int32(columns))
    }
    static func pack(_ weights: UnsafePointer<Double>?, gates: Int, units: Int, columns: Int, into packed: UnsafeMutablePointer<Double>) {
        rk_pack_f64(weights, Int32(gates), Int32(units), Int32(columns), packed)
    }
    static func project(x: UnsafePointer<Double>, ldx: Int, rows: Int, columns: Int, weights: UnsafePointer<Double>, units: Int,
                        out: UnsafeMutablePointer<Double>, ldout: Int, kernels: Int32) {
        rk_project_f64(x, ldx, Int32(rows), Int32(columns), weights, Int32(units), out, ldout, kernels)
    }
    static func runSequence(_ job: SequenceJob<Double>, member: Int, schedule: OpaquePointer?) {
        var sequence = rk_sequence_f64()
        job.fill(&sequence)
        rk_sequence_run_f64(&sequence, Int32(member), schedule, job.kernels)
    }
}
