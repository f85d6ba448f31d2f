import Foundation
import Testing
import TestSupport
@testable import RNNKit

/// One random model and input for comparing the fast forward pass with `ReferenceForward`. The shapes are chosen to
/// take every path of the kernels: hidden sizes that are not whole blocks (16 floats, 8 doubles), batches that need
/// each tile height (6, 4, 2, 1 rows), enough blocks for the widest tiles, projections of more than one block, and
/// sizes past the thresholds from which two threads share a layer's steps, run the two directions, or pipeline
/// the layers of a unidirectional model.
struct ForwardCase: CustomTestStringConvertible, Sendable {
    var mode: RecurrentMode = .rnn
    var relu = false
    var input: Int
    var hidden: Int
    var proj = 0
    var layers = 1
    var bidirectional = false
    var bias = true
    var batchFirst = false
    var unbatched = false
    var batch = 1
    var steps: Int
    var lengths = false
    var initialState = false
    var dtype: DType = .float32
    /// Multiplies the inputs: large values saturate tanh and sigmoid, small ones stay in tanh's polynomial range.
    var scale = 1.0
    var seed: UInt64
    /// GRU: false for the reset-before GRU (Keras's reset_after=False), which PyTorch has not.
    var resetAfter = true

    var testDescription: String {
        var text = "\(mode)\(relu ? "-relu" : "") I\(input) H\(hidden)\(proj > 0 ? " P\(proj)" : "") L\(layers)"
        text += " B\(unbatched ? "-" : "\(batch)") T\(steps) \(dtype)"
        if bidirectional { text += " bi" }
        if !bias { text += " nobias" }
        if batchFirst { text += " batch-first" }
        if lengths { text += " lengths" }
        if initialState { text += " h0" }
        if scale != 1 { text += " x\(scale)" }
        if !resetAfter { text += " reset-before" }
        return text
    }

    static let all: [ForwardCase] = [
        ForwardCase(input: 5, hidden: 7, steps: 6, dtype: .float64, seed: 1),
        ForwardCase(relu: true, input: 9, hidden: 20, bidirectional: true, batch: 3, steps: 5, lengths: true, seed: 2),
        ForwardCase(input: 12, hidden: 130, batch: 2, steps: 4, seed: 3),
        ForwardCase(input: 16, hidden: 70, layers: 2, batchFirst: true, batch: 7, steps: 4, dtype: .float64, seed: 4),
        ForwardCase(mode: .lstm, input: 10, hidden: 20, steps: 6, seed: 5),
        ForwardCase(mode: .lstm, input: 8, hidden: 24, proj: 10, bidirectional: true, batch: 5, steps: 5, lengths: true,
                    initialState: true, dtype: .float64, seed: 6),
        ForwardCase(mode: .lstm, input: 6, hidden: 33, proj: 17, layers: 2, batch: 4, steps: 4, seed: 7),
        ForwardCase(mode: .gru, input: 7, hidden: 50, bidirectional: true, bias: false, batch: 3, steps: 5, seed: 8),
        ForwardCase(mode: .gru, input: 11, hidden: 19, layers: 3, batch: 9, steps: 4, lengths: true, dtype: .float64, seed: 9),
        ForwardCase(mode: .lstm, input: 32, hidden: 64, batch: 4, steps: 6, lengths: true, seed: 10),
        ForwardCase(mode: .gru, input: 20, hidden: 48, layers: 2, bidirectional: true, batch: 6, steps: 8, initialState: true,
                    dtype: .float64, seed: 11),
        ForwardCase(mode: .lstm, input: 4, hidden: 9, bidirectional: true, unbatched: true, steps: 7, initialState: true, seed: 12),
        ForwardCase(relu: true, input: 3, hidden: 5, bias: false, batch: 6, steps: 3, lengths: true, initialState: true,
                    dtype: .float64, seed: 13),
        ForwardCase(mode: .lstm, input: 16, hidden: 100, batch: 2, steps: 3, dtype: .float64, seed: 14),
        ForwardCase(input: 24, hidden: 96, layers: 2, batchFirst: true, batch: 8, steps: 6, lengths: true, seed: 15),
        ForwardCase(mode: .gru, input: 6, hidden: 40, batch: 2, steps: 6, scale: 20, seed: 16),
        ForwardCase(mode: .lstm, input: 6, hidden: 24, batch: 3, steps: 6, scale: 1e-3, seed: 17),
        ForwardCase(input: 8, hidden: 36, bidirectional: true, batch: 5, steps: 5, scale: 30, seed: 18),
        ForwardCase(mode: .lstm, input: 12, hidden: 128, proj: 80, batch: 8, steps: 5, lengths: true, initialState: true, seed: 19),
        ForwardCase(mode: .gru, input: 16, hidden: 150, layers: 2, batch: 6, steps: 4, lengths: true, seed: 20),
        ForwardCase(relu: true, input: 10, hidden: 200, batch: 11, steps: 3, dtype: .float64, seed: 21),
        ForwardCase(relu: true, input: 20, hidden: 64, layers: 3, batch: 4, steps: 40, lengths: true, seed: 22),
        ForwardCase(mode: .lstm, input: 8, hidden: 48, proj: 24, layers: 2, batch: 2, steps: 30, initialState: true,
                    dtype: .float64, seed: 23),
        ForwardCase(mode: .gru, input: 5, hidden: 30, layers: 4, batch: 3, steps: 50, lengths: true, seed: 24),
        // Bidirectional with steps large enough that the threads help with each other's direction.
        ForwardCase(mode: .lstm, input: 16, hidden: 100, bidirectional: true, batch: 10, steps: 6, lengths: true, seed: 25),
        ForwardCase(mode: .lstm, input: 12, hidden: 128, proj: 80, bidirectional: true, batch: 8, steps: 5, initialState: true,
                    seed: 26),
        ForwardCase(mode: .gru, input: 20, hidden: 128, layers: 2, bidirectional: true, batch: 8, steps: 4, dtype: .float64,
                    seed: 27),
        // Batch 1 LSTMs wide enough for the single-row tile of four blocks, and its single-block tail.
        ForwardCase(mode: .lstm, input: 24, hidden: 150, steps: 7, seed: 28),
        ForwardCase(mode: .lstm, input: 8, hidden: 70, steps: 5, initialState: true, dtype: .float64, seed: 29),
        // The reset-before GRU (Keras's reset_after=False): its own step, alone or one thread per direction.
        ForwardCase(mode: .gru, input: 7, hidden: 21, bidirectional: true, batch: 3, steps: 6, lengths: true,
                    initialState: true, seed: 30, resetAfter: false),
        ForwardCase(mode: .gru, input: 9, hidden: 40, layers: 2, bias: false, batchFirst: true, batch: 5, steps: 5,
                    dtype: .float64, seed: 31, resetAfter: false),
        ForwardCase(mode: .gru, input: 4, hidden: 9, unbatched: true, steps: 7, initialState: true, seed: 32, resetAfter: false),
        ForwardCase(mode: .gru, input: 16, hidden: 130, layers: 2, bidirectional: true, batch: 6, steps: 6, lengths: true,
                    seed: 33, resetAfter: false),
    ]

    /// Multiply-adds per step and direction, as the forward pass counts them to choose how threads share the work.
    var multiplyAddsPerStep: Int {
        let gates = mode == .lstm ? 4 : mode == .gru ? 3 : 1, state = proj > 0 ? proj : hidden
        return batch * state * gates * hidden + batch * hidden * proj
    }

    /// The plan the forward pass makes for this case.
    func plan(threads: Int, limits: ForwardPlan.Limits) -> ForwardPlan {
        let c = RNNConfiguration(mode: mode, inputSize: input, hiddenSize: hidden, numLayers: layers, bidirectional: bidirectional,
                                 bias: bias, nonlinearity: relu ? .relu : .tanh, batchFirst: batchFirst, projSize: proj,
                                 resetAfter: resetAfter)
        return ForwardPlan(configuration: c, steps: steps, batch: unbatched ? 1 : batch, batchFirst: batchFirst && !unbatched,
                           threads: threads, scalarBytes: dtype == .float64 ? 8 : 4, limits: limits)
    }

    /// The model (PyTorch's names and shapes, values uniform in ±1/√H) and the inputs of this case.
    func make() throws -> (rnn: RNN, input: Tensor, h0: Tensor?, c0: Tensor?, lengths: [Int]?) {
        var random = SplitMix64(seed: seed)
        let gates = mode.gateCount * hidden, state = proj > 0 ? proj : hidden, directions = bidirectional ? 2 : 1
        let bound = 1 / Double(hidden).squareRoot()
        func tensor(_ shape: [Int], _ bound: Double) throws -> Tensor {
            let values = (0..<shape.reduce(1, *)).map { _ in random.uniform(bound) }
            return dtype == .float64 ? try Tensor(shape: shape, elements: values) : try Tensor(shape: shape, elements: values.map(Float.init))
        }
        var dict = StateDict()
        for layer in 0..<layers {
            for suffix in bidirectional ? ["_l\(layer)", "_l\(layer)_reverse"] : ["_l\(layer)"] {
                dict["weight_ih" + suffix] = try tensor([gates, layer == 0 ? input : state * directions], bound)
                dict["weight_hh" + suffix] = try tensor([gates, state], bound)
                if bias {
                    dict["bias_ih" + suffix] = try tensor([gates], bound)
                    dict["bias_hh" + suffix] = try tensor([gates], bound)
                }
                if proj > 0 { dict["weight_hr" + suffix] = try tensor([proj, hidden], bound) }
            }
        }
        let rnn = try RNN(stateDict: dict, options: RNNLoadOptions(nonlinearity: relu ? .relu : .tanh, batchFirst: batchFirst,
                                                                   resetAfter: mode == .gru ? resetAfter : nil))
        let inputShape = unbatched ? [steps, input] : batchFirst ? [batch, steps, input] : [steps, batch, input]
        let states = layers * directions
        let x = try tensor(inputShape, scale)
        let h0 = initialState ? try tensor(unbatched ? [states, state] : [states, batch, state], 1) : nil
        let c0 = initialState && mode == .lstm ? try tensor(unbatched ? [states, hidden] : [states, batch, hidden], 1) : nil
        let lengths = self.lengths ? (0..<batch).map { b in b == 1 ? steps : 1 + Int(random.next() % UInt64(steps)) } : nil
        return (rnn, x, h0, c0, lengths)
    }
}

/// The fast forward pass (packed weights, C kernels, any thread count) against the plain reference.
struct FastForwardTests {
    /// float64: the two differ only in summation order and fused multiply-adds, ~1e-16 per operation, so 1e-12
    /// relative (+1e-13 absolute near zero) leaves room for any sequence length here. float32 additionally uses a
    /// vectorised tanh/exp (within 2.4 ulp of libm's), so it gets the tolerance against PyTorch: 1e-5 + 1e-6.
    static func tolerance(_ precision: Precision) -> Tolerance {
        precision == .float64 ? Tolerance(atol: 1e-13, rtol: 1e-12) : Tolerance.default(for: .float32)
    }

    @Test(arguments: ForwardCase.all)
    func fastForwardMatchesReference(_ forwardCase: ForwardCase) throws {
        let (rnn, input, h0, c0, lengths) = try forwardCase.make()
        let fast = try rnn.forward(input, h0: h0, c0: c0, lengths: lengths)
        let reference = try rnn.referenceForward(input, h0: h0, c0: c0, lengths: lengths)
        let tolerance = Self.tolerance(rnn.precision)
        var pairs = [("output", fast.output, reference.output), ("h_n", fast.hN, reference.hN)]
        if let cN = fast.cN, let expected = reference.cN { pairs.append(("c_n", cN, expected)) }
        #expect((fast.cN != nil) == (forwardCase.mode == .lstm))
        for (name, actual, expected) in pairs {
            #expect(actual.shape == expected.shape, "\(name)")
            #expect(actual.dtype == expected.dtype, "\(name)")
            let comparison = try TensorComparison(actual: actual, expected: expected, atol: tolerance.atol, rtol: tolerance.rtol)
            #expect(comparison.matches, "\(name): max abs \(comparison.maxAbsoluteError), max rel \(comparison.maxRelativeError), \(comparison.failing) failing")
        }
    }

    /// Limits that make the plan share even these small cases between threads, one way each: `spread` takes the
    /// directions strategy with helping (bidirectional), the pipeline (several layers, time-major) or shared steps;
    /// `shared` shares every step wherever it can; `unhelped` runs the directions without helping, and the
    /// pipeline. Each also cuts the input projection into chunks of one step and pieces of one row.
    static let limitVariants: [(name: String, limits: ForwardPlan.Limits)] = [
        ("default", ForwardPlan.Limits()),
        ("spread", ForwardPlan.Limits(sharedStep: 0, pipelineStep: .max, parallelWork: 0, projectionChunkBytes: 1,
                                      projectionChunkRows: 1, projectionSplitRows: 1)),
        ("shared", ForwardPlan.Limits(sharedStep: 0, pipelineStep: 0, parallelWork: 0, projectionChunkBytes: 1,
                                      projectionChunkRows: 1, projectionSplitRows: 1)),
        ("unhelped", ForwardPlan.Limits(sharedStep: .max, pipelineStep: .max, parallelWork: 0)),
    ]

    /// Any thread count gives the bits of one thread, whichever strategy the plan takes (1, 2, 3, 4 and 8 threads
    /// on two cores: the extra threads wait for a core, in every place a wait can happen).
    @Test(arguments: ForwardCase.all)
    func resultsDoNotDependOnThreadCount(_ forwardCase: ForwardCase) throws {
        let (rnn, input, h0, c0, lengths) = try forwardCase.make()
        var strategies: Set<String> = []
        for (name, limits) in Self.limitVariants {
            let tuning = ForwardTuning(limits: limits)
            let one = try rnn.forward(input, h0: h0, c0: c0, lengths: lengths, threads: 1, tuning: tuning)
            for threads in [2, 3, 4, 8] {
                let many = try rnn.forward(input, h0: h0, c0: c0, lengths: lengths, threads: threads, tuning: tuning)
                #expect(one.output == many.output, "\(name), \(threads) threads")
                #expect(one.hN == many.hN, "\(name), \(threads) threads")
                #expect(one.cN == many.cN, "\(name), \(threads) threads")
                strategies.insert("\(forwardCase.plan(threads: threads, limits: limits).strategy)")
            }
        }
        // The variants take every strategy this case's layout has.
        let expected: Set<String> = !forwardCase.resetAfter  // never shared: alone, or one thread per direction
            ? [forwardCase.bidirectional ? "directions(helping: false)" : "alone"]
            : forwardCase.bidirectional ? ["directions(helping: true)", "directions(helping: false)"]
            : forwardCase.layers > 1 && !forwardCase.batchFirst ? ["pipeline", "sharedSteps"]
            : forwardCase.hidden * (forwardCase.dtype == .float64 ? 8 : 4) > 64 ? ["sharedSteps", "alone"]
            : ["alone"]  // one block of units: a step has no parts to share
        #expect(expected.isSubset(of: strategies), "\(strategies)")
    }

    /// The bidirectional cases whose steps are large enough for helping, by the forward pass's own threshold.
    static let helpingCases = ForwardCase.all.filter {
        $0.bidirectional && $0.resetAfter && $0.multiplyAddsPerStep >= ForwardPlan.Limits().sharedStep
    }

    /// A threshold raised past every case (or cases made smaller) would leave the helping test with no case, skipped
    /// while `swift test` passes.
    @Test func helpingCasesExist() {
        // Seeds 25, 26 and 27 today; update the list when cases are added or the threshold moves.
        #expect(Self.helpingCases.map(\.seed) == [25, 26, 27])
    }

    /// Bidirectional with large steps, the threads done with their direction first help with the other's. Here the
    /// backward direction's threads start only once the forward direction is done, so that the forward group
    /// shares all of the backward steps (and, in chunks, its projections): the bits are still those of one thread.
    @Test(arguments: helpingCases)
    func helpingWithTheOtherDirectionChangesNoBit(_ forwardCase: ForwardCase) throws {
        let (rnn, input, h0, c0, lengths) = try forwardCase.make()
        for bytes in [ForwardPlan.Limits().projectionChunkBytes, 1] {
            let limits = ForwardPlan.Limits(projectionChunkBytes: bytes, projectionChunkRows: 1)
            let one = try rnn.forward(input, h0: h0, c0: c0, lengths: lengths, threads: 1, tuning: ForwardTuning(limits: limits))
            for threads in [2, 4] {
                #expect(forwardCase.plan(threads: threads, limits: limits).strategy == .directions(helping: true))
                let staggered = ForwardTuning(limits: limits, staggerDirections: true)
                let many = try rnn.forward(input, h0: h0, c0: c0, lengths: lengths, threads: threads, tuning: staggered)
                #expect(one.output == many.output, "chunks of \(bytes) bytes, \(threads) threads")
                #expect(one.hN == many.hN)
                #expect(one.cN == many.cN)
            }
        }
    }

    /// The AVX2 and baseline kernels, which this machine would not choose by itself, against the reference too.
    @Test(arguments: ForwardCase.all.filter { $0.seed % 3 == 0 || $0.dtype == .float64 || $0.seed == 19 }, [Int32(0), 1])
    func everyKernelVersionMatchesReference(_ forwardCase: ForwardCase, _ kernels: Int32) throws {
        let (rnn, input, h0, c0, lengths) = try forwardCase.make()
        let fast = try rnn.forward(input, h0: h0, c0: c0, lengths: lengths, threads: nil, tuning: ForwardTuning(kernels: kernels))
        let reference = try rnn.referenceForward(input, h0: h0, c0: c0, lengths: lengths)
        let tolerance = Self.tolerance(rnn.precision)
        for (actual, expected) in [(fast.output, reference.output), (fast.hN, reference.hN)] {
            let comparison = try TensorComparison(actual: actual, expected: expected, atol: tolerance.atol, rtol: tolerance.rtol)
            #expect(comparison.matches, "kernels \(kernels): max abs \(comparison.maxAbsoluteError), max rel \(comparison.maxRelativeError)")
        }
        if let cN = fast.cN, let expected = reference.cN {
            let comparison = try TensorComparison(actual: cN, expected: expected, atol: tolerance.atol, rtol: tolerance.rtol)
            #expect(comparison.matches, "c_n, kernels \(kernels)")
        }
    }

    /// The input projection a step or a few at a time (as for long sequences), in pieces of any size: the same bits
    /// as all steps at once (the projection kernel sums each element in the same order whatever rows it is given).
    @Test(arguments: ForwardCase.all.filter { !$0.batchFirst })
    func projectingInChunksChangesNoBit(_ forwardCase: ForwardCase) throws {
        let (rnn, input, h0, c0, lengths) = try forwardCase.make()
        let whole = try rnn.forward(input, h0: h0, c0: c0, lengths: lengths, threads: 1)
        for bytes in [1, 3 * 64 * 8] {
            for split in [1, 5] {
                let limits = ForwardPlan.Limits(projectionChunkBytes: bytes, projectionChunkRows: 1, projectionSplitRows: split)
                let chunked = try rnn.forward(input, h0: h0, c0: c0, lengths: lengths, threads: 2, tuning: ForwardTuning(limits: limits))
                #expect(whole.output == chunked.output, "chunks of \(bytes) bytes, pieces from \(split) rows")
                #expect(whole.hN == chunked.hN)
                #expect(whole.cN == chunked.cN)
            }
        }
    }

    @Test func outputPastEachLengthIsZero() throws {
        var forwardCase = ForwardCase.all[1]
        forwardCase.lengths = true
        let (rnn, input, _, _, lengths) = try forwardCase.make()
        let output = try rnn.forward(input, lengths: lengths!).output
        let values = try output.floatValues()
        let width = output.shape[2]
        for t in 0..<output.shape[0] {
            for b in 0..<output.shape[1] where t >= lengths![b] {
                #expect(values[(t * output.shape[1] + b) * width..<(t * output.shape[1] + b + 1) * width].allSatisfy { $0 == 0 })
            }
        }
    }

    @Test func kernelsReportAnInstructionSet() {
        #expect(["avx512", "avx2", "generic"].contains(RNN.kernelInstructionSet))
    }
}
