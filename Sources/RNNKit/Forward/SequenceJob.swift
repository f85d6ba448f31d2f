import CRecurrentKernels

/// One direction of one layer over the whole sequence, as the C kernels take it (recurrent_kernels.h,
/// RK_SEQUENCE_FIELDS: the meaning of each field and which buffers must be padded).
struct SequenceJob<Scalar: ForwardScalar> {
    var mode: Int32
    var batch: Int
    var steps: Int
    var reverse: Bool
    var firstStep: Int
    var stepCount: Int
    var stateSize: Int
    var hiddenSize: Int
    var projSize: Int
    var weights: PackedDirection<Scalar>
    var xproj: UnsafePointer<Scalar>
    var xprojFirstTime: Int
    var xprojTimeStride: Int
    var xprojBatchStride: Int
    var output: UnsafeMutablePointer<Scalar>
    var outputTimeStride: Int
    var outputBatchStride: Int
    var hA: UnsafeMutablePointer<Scalar>
    var hB: UnsafeMutablePointer<Scalar>
    var hFull: UnsafeMutablePointer<Scalar>?
    var cell: UnsafeMutablePointer<Scalar>?
    var lengths: UnsafePointer<Int32>?
    var hN: UnsafeMutablePointer<Scalar>
    var cN: UnsafeMutablePointer<Scalar>?
    /// Which kernels run (rk_kernels): −1 for the best this CPU has.
    var kernels: Int32
}

extension SequenceJob where Scalar == Float {
    func fill(_ s: inout rk_sequence_f32) {
        s.mode = mode
        s.batch = Int32(batch)
        s.steps = Int32(steps)
        s.reverse = reverse ? 1 : 0
        s.first_step = Int32(firstStep)
        s.step_count = Int32(stepCount)
        s.state_size = Int32(stateSize)
        s.hidden_size = Int32(hiddenSize)
        s.proj_size = Int32(projSize)
        s.w_hh = UnsafePointer(weights.recurrent.pointer)
        s.b_hh = UnsafePointer(weights.recurrentBias.pointer)
        s.b_ih = UnsafePointer(weights.inputBias.pointer)
        s.w_hr = weights.projection.map { UnsafePointer($0.pointer) }
        s.xproj = xproj
        s.xproj_first_time = Int32(xprojFirstTime)
        s.xproj_time_stride = xprojTimeStride
        s.xproj_batch_stride = xprojBatchStride
        s.output = output
        s.output_time_stride = outputTimeStride
        s.output_batch_stride = outputBatchStride
        s.h_a = hA
        s.h_b = hB
        s.h_full = hFull
        s.c = cell
        s.lengths = lengths
        s.h_n = hN
        s.c_n = cN
    }
}

extension SequenceJob where Scalar == Double {
    func fill(_ s: inout rk_sequence_f64) {
        s.mode = mode
        s.batch = Int32(batch)
        s.steps = Int32(steps)
        s.reverse = reverse ? 1 : 0
        s.first_step = Int32(firstStep)
        s.step_count = Int32(stepCount)
        s.state_size = Int32(stateSize)
        s.hidden_size = Int32(hiddenSize)
        s.proj_size = Int32(projSize)
        s.w_hh = UnsafePointer(weights.recurrent.pointer)
        s.b_hh = UnsafePointer(weights.recurrentBias.pointer)
        s.b_ih = UnsafePointer(weights.inputBias.pointer)
        s.w_hr = weights.projection.map { UnsafePointer($0.pointer) }
        s.xproj = xproj
        s.xproj_first_time = Int32(xprojFirstTime)
        s.xproj_time_stride = xprojTimeStride
        s.xproj_batch_stride = xprojBatchStride
        s.output = output
        s.output_time_stride = outputTimeStride
        s.output_batch_stride = outputBatchStride
        s.h_a = hA
        s.h_b = hB
        s.h_full = hFull
        s.c = cell
        s.lengths = lengths
        s.h_n = hN
        s.c_n = cN
    }
}
