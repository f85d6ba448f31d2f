import CAllocationCounter
import COpenBLAS
import Foundation
import Synchronization
import Testing
import TestSupport
@testable import RNNKit

/// `RNNStream` against whole-sequence forward calls: the same bits, step by step.
struct StreamTests {
    /// The unidirectional cases of the fast forward pass's tests (without lengths, which a stream does not take):
    /// every mode, 1–4 layers, projections, batch-first and time-major, float32 and float64.
    static let cases = ForwardCase.all.filter { !$0.bidirectional && !$0.unbatched }.map { forwardCase in
        var forwardCase = forwardCase
        forwardCase.lengths = false
        return forwardCase
    }

    @Test func casesCoverEveryModeLayersProjectionsAndPrecision() {
        #expect(Set(Self.cases.map { "\($0.mode)\($0.relu ? "-relu" : "")" }) == ["rnn", "rnn-relu", "lstm", "gru"])
        #expect(Set(Self.cases.map(\.layers)).isSuperset(of: [1, 2, 3]))
        #expect(Self.cases.contains { $0.proj > 0 && $0.layers > 1 } && Self.cases.contains { $0.proj > 0 && $0.dtype == .float64 })
        #expect(Set(Self.cases.map(\.dtype)) == [.float32, .float64])
        #expect(Self.cases.contains(where: \.batchFirst) && Self.cases.contains(where: \.initialState))
    }

    /// Row t·B + b (time-major) or b·T + t (batch-first) of a [T·B, width] array, for step t of sequence b.
    static func row(_ t: Int, _ b: Int, _ forwardCase: ForwardCase) -> Int {
        forwardCase.batchFirst ? b * forwardCase.steps + t : t * forwardCase.batch + b
    }

    /// Streams the case one step per call through the buffer API, from h0/c0; returns the outputs in the input's
    /// layout and the stream.
    static func streamSteps<S: TensorElement & BinaryFloatingPoint>(
        _ forwardCase: ForwardCase, _ rnn: RNN, _ input: Tensor, _ state: RNNState?, threads: Int, tuning: ForwardTuning,
        as: S.Type, step: (RNNStream, UnsafeBufferPointer<S>, UnsafeMutableBufferPointer<S>) throws -> Void
    ) throws -> ([S], RNNStream) {
        let c = rnn.configuration, batch = forwardCase.batch
        let stream = try rnn.makeStream(batch: batch, threads: threads, tuning: tuning)
        if let state { try stream.setState(state) }
        let x = try input.elements(as: S.self)
        var output = [S](repeating: .nan, count: forwardCase.steps * batch * c.outputSize)
        var stepInput = [S](repeating: 0, count: stream.inputCount), stepOutput = [S](repeating: 0, count: stream.outputCount)
        for t in 0..<forwardCase.steps {
            for b in 0..<batch {
                let row = Self.row(t, b, forwardCase)
                stepInput[b * c.inputSize..<(b + 1) * c.inputSize] = x[row * c.inputSize..<(row + 1) * c.inputSize]
            }
            try stepInput.withUnsafeBufferPointer { input in try stepOutput.withUnsafeMutableBufferPointer { try step(stream, input, $0) } }
            for b in 0..<batch {
                let row = Self.row(t, b, forwardCase)
                output[row * c.outputSize..<(row + 1) * c.outputSize] = stepOutput[b * c.outputSize..<(b + 1) * c.outputSize]
            }
        }
        return (output, stream)
    }

    static func initialState(_ rnn: RNN, _ h0: Tensor?, _ c0: Tensor?, batch: Int) -> RNNState? {
        guard h0 != nil || c0 != nil else { return nil }
        var state = rnn.zeroState(batch: batch)
        if let h0 { state.h = h0 }
        if let c0 { state.c = c0 }
        return state
    }

    /// Step by step through `step(_:into:)`, on one thread and on several (with limits that share each step), the
    /// bits of the whole sequence: outputs and final states.
    @Test(arguments: cases)
    func streamingStepByStepGivesTheWholeSequenceBits(_ forwardCase: ForwardCase) throws {
        let (rnn, input, h0, c0, _) = try forwardCase.make()
        let whole = try rnn.forward(input, h0: h0, c0: c0, threads: 1)
        let state = Self.initialState(rnn, h0, c0, batch: forwardCase.batch)
        let shared = ForwardTuning(limits: ForwardPlan.Limits(sharedStep: 0, parallelWork: 0, projectionSplitRows: 1))
        for (threads, tuning) in [(1, ForwardTuning()), (2, shared), (3, shared)] {
            let streamed: Tensor, stream: RNNStream
            if forwardCase.dtype == .float64 {
                let (values, made) = try Self.streamSteps(forwardCase, rnn, input, state, threads: threads, tuning: tuning, as: Double.self) {
                    try $0.step($1, into: $2)
                }
                (streamed, stream) = (try Tensor(shape: whole.output.shape, elements: values), made)
            } else {
                let (values, made) = try Self.streamSteps(forwardCase, rnn, input, state, threads: threads, tuning: tuning, as: Float.self) {
                    try $0.step($1, into: $2)
                }
                (streamed, stream) = (try Tensor(shape: whole.output.shape, elements: values), made)
            }
            #expect(streamed == whole.output, "\(threads) threads")
            #expect(stream.state == whole.state, "\(threads) threads")
        }
    }

    /// The same bits through the Tensor and array APIs, and with chunks through `run` between single steps.
    @Test(arguments: cases.filter { $0.seed % 2 == 1 })
    func everyStreamAPIGivesTheSameBits(_ forwardCase: ForwardCase) throws {
        let (rnn, input, h0, c0, _) = try forwardCase.make()
        let c = rnn.configuration, batch = forwardCase.batch, steps = forwardCase.steps
        let whole = try rnn.forward(input, h0: h0, c0: c0)
        let x = try input.doubleValues()
        func stepInput(_ t: Int) -> [Double] {
            (0..<batch).flatMap { b in
                let row = Self.row(t, b, forwardCase)
                return x[row * c.inputSize..<(row + 1) * c.inputSize]
            }
        }
        func wholeRows(_ t: Int) throws -> [Double] {
            let values = try whole.output.doubleValues()
            return (0..<batch).flatMap { b in
                let row = Self.row(t, b, forwardCase)
                return values[row * c.outputSize..<(row + 1) * c.outputSize]
            }
        }
        let stream = try rnn.makeStream(batch: batch)
        if let state = Self.initialState(rnn, h0, c0, batch: batch) { try stream.setState(state) }
        // Steps 0 and 1 as a chunk through `run`, in the model's own layout.
        let chunkShape = forwardCase.batchFirst ? [batch, 2, c.inputSize] : [2, batch, c.inputSize]
        let chunkValues = forwardCase.batchFirst
            ? (0..<batch).flatMap { b in (0..<2).flatMap { t in Array(stepInput(t)[b * c.inputSize..<(b + 1) * c.inputSize]) } }
            : stepInput(0) + stepInput(1)
        let chunk = try stream.run(forwardCase.dtype == .float64 ? Tensor(shape: chunkShape, elements: chunkValues)
                                                                   : Tensor(shape: chunkShape, elements: chunkValues.map(Float.init)))
        let chunkOut = try chunk.doubleValues()
        let expectedChunk = forwardCase.batchFirst
            ? try (0..<batch).flatMap { b in try (0..<2).flatMap { t in Array(try wholeRows(t)[b * c.outputSize..<(b + 1) * c.outputSize]) } }
            : try wholeRows(0) + wholeRows(1)
        #expect(chunk.shape == (forwardCase.batchFirst ? [batch, 2, c.outputSize] : [2, batch, c.outputSize]))
        #expect(chunkOut == expectedChunk)
        // The rest one at a time, alternating the Tensor API (callAsFunction) and the array API.
        for t in 2..<steps {
            let values = stepInput(t)
            let out: [Double]
            if t % 2 == 0 {
                let tensor = forwardCase.dtype == .float64 ? try Tensor(shape: [batch, c.inputSize], elements: values)
                    : try Tensor(shape: [batch, c.inputSize], elements: values.map(Float.init))
                let result = try stream(tensor)
                #expect(result.shape == [batch, c.outputSize] && result.dtype == rnn.precision.dtype)
                out = try result.doubleValues()
            } else if forwardCase.dtype == .float64 {
                out = try stream.step(values)
            } else {
                out = try stream.step(values.map(Float.init)).map(Double.init)
            }
            #expect(out == (try wholeRows(t)), "step \(t)")
        }
        #expect(stream.state == whole.state)
    }

    @Test func stateCanBeReadSetAndReset() throws {
        var forwardCase = ForwardCase.all.first { $0.mode == .lstm && $0.proj > 0 && $0.layers == 2 }!
        forwardCase.initialState = false
        let (rnn, input, _, _, _) = try forwardCase.make()
        let c = rnn.configuration, batch = forwardCase.batch
        let frames = try input.elements(as: Float.self)
        func frame(_ t: Int) -> [Float] { Array(frames[t * batch * c.inputSize..<(t + 1) * batch * c.inputSize]) }
        let stream = try rnn.makeStream(batch: batch)
        #expect(stream.state == rnn.zeroState(batch: batch))
        #expect(stream.state.h.shape == [c.numLayers, batch, c.outputSize] && stream.state.c?.shape == [c.numLayers, batch, c.hiddenSize])
        let first = try stream.step(frame(0))
        let saved = stream.state
        #expect(saved != rnn.zeroState(batch: batch))
        let second = try stream.step(frame(1))
        try stream.setState(saved)
        #expect(try stream.step(frame(1)) == second)
        stream.reset()
        #expect(stream.state == rnn.zeroState(batch: batch))
        #expect(try stream.step(frame(0)) == first)
        // A state from forward goes on as the stream would have.
        try stream.setState(try rnn.forward(Tensor(shape: [1, batch, c.inputSize], elements: frame(0))).state)
        #expect(try stream.step(frame(1)) == second)
    }

    @Test func badStreamsAndInputsAreRefusedWithTypedErrors() throws {
        let bidirectional = try ForwardCase.all.first { $0.bidirectional }!.make().rnn
        #expect(try LoadingTests.inputError { _ = try bidirectional.makeStream() } == .bidirectionalStream)
        let (rnn, _, _, _, _) = try ForwardCase.all.first { $0.mode == .lstm && $0.dtype == .float32 && !$0.bidirectional }!.make()
        let c = rnn.configuration
        #expect(try LoadingTests.inputError { _ = try rnn.makeStream(batch: 0) } == .batchSize(0))
        #expect(try LoadingTests.inputError { _ = try rnn.makeStream(batch: 1, threads: 0) } == .threadCount(0))
        let stream = try rnn.makeStream(batch: 2)
        #expect(try LoadingTests.inputError { _ = try stream.step([Float](repeating: 0, count: c.inputSize)) }
                == .wrongShape(name: "input", expected: [2 * c.inputSize], found: [c.inputSize]))
        #expect(try LoadingTests.inputError { _ = try stream.step([Double](repeating: 0, count: 2 * c.inputSize)) }
                == .wrongDType(name: "input", expected: .float32, found: .float64))
        #expect(try LoadingTests.inputError { _ = try stream(Tensor(zeros: .float32, shape: [3, c.inputSize])) }
                == .wrongShape(name: "input", expected: [2, c.inputSize], found: [3, c.inputSize]))
        #expect(try LoadingTests.inputError { _ = try stream(Tensor(zeros: .int32, shape: [2, c.inputSize])) }
                == .wrongDType(name: "input", expected: .float32, found: .int32))
        #expect(try LoadingTests.inputError { _ = try stream.run(Tensor(zeros: .float32, shape: [4, 3, c.inputSize])) }
                == .wrongShape(name: "input", expected: [nil, 2, c.inputSize], found: [4, 3, c.inputSize]))
        var state = rnn.zeroState(batch: 3)
        #expect(try LoadingTests.inputError { try stream.setState(state) }
                == .wrongShape(name: "h", expected: [c.numLayers, 2, c.outputSize], found: [c.numLayers, 3, c.outputSize]))
        state = rnn.zeroState(batch: 2)
        state.c = nil
        #expect(try LoadingTests.inputError { try stream.setState(state) }
                == .wrongShape(name: "c", expected: [c.numLayers, 2, c.hiddenSize], found: []))
        // A refused call leaves the state as it was.
        #expect(stream.state == rnn.zeroState(batch: 2))
    }

    /// A batch of one takes unbatched inputs, as PyTorch's cells and modules do.
    @Test func batchOfOneTakesUnbatchedInputs() throws {
        let (rnn, input, _, _, _) = try ForwardCase(mode: .gru, input: 6, hidden: 20, layers: 2, steps: 5, seed: 40).make()
        let c = rnn.configuration
        let values = try input.floatValues()
        let unbatched = try input.reshaped([5, c.inputSize])
        let whole = try rnn.forward(unbatched)
        let stream = try rnn.makeStream()
        let first = try stream(Tensor(shape: [c.inputSize], elements: Array(values[0..<c.inputSize])))
        #expect(first.shape == [c.outputSize])
        let rest = try stream.run(try Tensor(shape: [4, c.inputSize], elements: Array(values[c.inputSize...])))
        #expect(rest.shape == [4, c.outputSize])
        #expect(try first.floatValues() + rest.floatValues() == whole.output.floatValues())
        #expect(try stream.state.h.floatValues() == whole.hN.floatValues())
    }

    /// After the first call, `step(_:into:)` allocates nothing on the calling thread, alone or sharing its steps
    /// with worker threads (which run the same code as the caller: a part of each step). Checked by counting
    /// malloc and its kin (Tests/CAllocationCounter), which the address sanitizer's build cannot do.
    @Test(.enabled(if: allocation_counter_available() == 1, "the address sanitizer interposes malloc itself"),
          arguments: [1, 3])
    func steppingAllocatesNothing(threads: Int) throws {
        #expect(Self.countAllocations { _ = [Int](repeating: 1, count: 100) } > 0, "the counter counts")
        let limits = ForwardPlan.Limits(sharedStep: threads > 1 ? 0 : .max, parallelWork: 0)
        for forwardCase in [ForwardCase(mode: .lstm, input: 16, hidden: 48, proj: 20, layers: 2, batch: 3, steps: 1, seed: 41),
                            ForwardCase(mode: .gru, input: 8, hidden: 70, batch: 1, steps: 1, dtype: .float64, seed: 42),
                            ForwardCase(relu: true, input: 8, hidden: 64, layers: 3, batch: 2, steps: 1, seed: 43)]
            // The reset-before GRU runs on one thread (its plan never shares a step).
            + (threads == 1 ? [ForwardCase(mode: .gru, input: 8, hidden: 40, layers: 2, batch: 2, steps: 1, seed: 47, resetAfter: false)] : []) {
            let rnn = try forwardCase.make().rnn
            let stream = try rnn.makeStream(batch: forwardCase.batch, threads: threads, tuning: ForwardTuning(limits: limits))
            #expect(forwardCase.plan(threads: threads, limits: limits).threads == threads, "the steps are shared")
            let allocations: Int
            if forwardCase.dtype == .float64 {
                var input = [Double](repeating: 0.5, count: stream.inputCount), output = [Double](repeating: 0, count: stream.outputCount)
                allocations = try Self.countSteps(&input, &output) { try stream.step($0, into: $1) }
            } else {
                var input = [Float](repeating: 0.5, count: stream.inputCount), output = [Float](repeating: 0, count: stream.outputCount)
                allocations = try Self.countSteps(&input, &output) { try stream.step($0, into: $1) }
            }
            #expect(allocations == 0, "\(forwardCase), \(threads) threads")
        }
    }

    static func countAllocations(_ body: () throws -> Void) rethrows -> Int {
        allocation_counter_start()
        defer { _ = allocation_counter_stop() }
        try body()
        return allocation_counter_stop()
    }

    /// Allocations during 100 steps after a first one.
    static func countSteps<S>(_ input: inout [S], _ output: inout [S],
                              _ step: (UnsafeBufferPointer<S>, UnsafeMutableBufferPointer<S>) throws -> Void) throws -> Int {
        try input.withUnsafeBufferPointer { input in
            try output.withUnsafeMutableBufferPointer { output in
                try step(input, output)
                return try countAllocations { for _ in 0..<100 { try step(input, output) } }
            }
        }
    }
}

/// One model called from many threads at once: forward calls borrow or make their own thread teams, streams
/// own theirs, and every result is that of a call made alone.
struct ConcurrentCallTests {
    @Test func concurrentForwardCallsAndStreamsGiveTheResultsOfCallsMadeAlone() throws {
        let forwardCase = ForwardCase(mode: .gru, input: 16, hidden: 96, layers: 2, batch: 4, steps: 12, seed: 46)
        let (rnn, input, _, _, _) = try forwardCase.make()
        let alone = try rnn.forward(input, threads: 1)
        let frames = try input.floatValues(), width = forwardCase.batch * forwardCase.input
        let results = Mutex<[Bool]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            let same: Bool
            if index % 2 == 0 {
                same = (try? rnn.forward(input, threads: 1 + index % 3)) == alone
            } else {
                let stream = try? rnn.makeStream(batch: forwardCase.batch, threads: 2)
                let outputs = (0..<forwardCase.steps).compactMap { t in try? stream?.step(Array(frames[t * width..<(t + 1) * width])) }
                same = outputs.flatMap { $0 } == (try? alone.output.floatValues()) && stream?.state == alone.state
            }
            results.withLock { $0.append(same) }
        }
        #expect(results.withLock { $0 } == [Bool](repeating: true, count: 8))
    }
}

/// Nothing process-wide changes: a host app's OpenBLAS settings and environment stay as they were.
struct ProcessStateTests {
    @Test func forwardAndStreamsLeaveOpenBLASAndTheEnvironmentAlone() throws {
        let environment = ProcessInfo.processInfo.environment
        let before = openblas_get_num_threads()
        // A host app's own choice (the other value of 1 and 2, so that a change back to either would show).
        let chosen: Int32 = before == 1 ? 2 : 1
        openblas_set_num_threads(chosen)
        defer { openblas_set_num_threads(before) }
        for forwardCase in [ForwardCase(mode: .lstm, input: 64, hidden: 256, layers: 2, batch: 8, steps: 20, seed: 44),
                            ForwardCase(mode: .gru, input: 32, hidden: 128, bidirectional: true, batch: 4, steps: 10, seed: 45)] {
            let (rnn, input, _, _, _) = try forwardCase.make()
            _ = try rnn.forward(input, threads: 4)
            if !forwardCase.bidirectional {
                _ = try rnn.makeStream(batch: forwardCase.batch, threads: 2).step([Float](repeating: 0.1, count: forwardCase.batch * forwardCase.input))
            }
        }
        #expect(openblas_get_num_threads() == chosen)
        #expect(ProcessInfo.processInfo.environment == environment)
    }
}
