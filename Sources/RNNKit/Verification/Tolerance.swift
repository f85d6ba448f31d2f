/// The default tolerances of a verification, by compute precision.
///
/// float32: atol 1e-5, rtol 1.3e-6 — `torch.testing.assert_close`'s float32 defaults. PyTorch's own float32 paths
/// (one BLAS or another, fused or per-step kernels) sum in different orders and differ from each other by up to
/// ~2.7e-6 on a real hidden-128 LSTM over 50 steps, so anything tighter rejects a correct run of a real model;
/// torch.testing uses these figures for the same reason. The largest error measured over the torch fixtures
/// (hidden 512, 256 steps) is 3.3e-7. float64: atol 1e-14, rtol 1e-12 — far stricter than assert_close's, and
/// every float64 fixture and long sequence passes them: float64 sums in a different order differ by a few ulps
/// per step.
public struct Tolerance: Sendable, Equatable {
    /// Absolute allowance.
    public var atol: Double
    /// Relative allowance, times |expected|.
    public var rtol: Double

    /// A tolerance of `atol` + `rtol`·|expected|.
    public init(atol: Double, rtol: Double) {
        self.atol = atol
        self.rtol = rtol
    }

    /// The default for a precision.
    public static func `default`(for precision: Precision) -> Tolerance {
        precision == .float64 ? Tolerance(atol: 1e-14, rtol: 1e-12) : Tolerance(atol: 1e-5, rtol: 1.3e-6)
    }
}
