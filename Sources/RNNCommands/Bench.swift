import ArgumentParser
import Foundation
import RNNKit

/// `rnn-bench`: times the forward pass in process, after warm-up, on a random model of a given shape or on a real
/// model and inputs.
public struct Bench: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "rnn-bench",
        abstract: "Time the forward pass of an RNN, LSTM or GRU.",
        discussion: """
            Without --model, builds a state_dict with PyTorch's tensor names and shapes and random weights
            (uniform in ±1/√hidden, as PyTorch initialises them), loads it like any file, and times forward() on a
            random input. With --model and --inputs, times that model on those inputs (as rnn-run reads them).
            Reports the median and the minimum over --runs timed runs after --warmup untimed ones.

            Examples:
              rnn-bench --mode lstm --batch 24 --seq 100 --input 256 --hidden 320 --bidirectional
              rnn-bench --mode gru --batch 1 --seq 100 --input 64 --hidden 128 --json
              rnn-bench --model model.npz --inputs inputs.npz --runs 50
              rnn-bench --mode lstm --batch 1 --input 64 --hidden 128 --stream --json

            With --stream, times the stream API instead: each run makes --seq calls of RNNStream.step, one time
            step each, on preallocated buffers, and the report gives the time per step (median over the runs).
            """)

    /// The module to build: PyTorch's mode names.
    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case rnn_tanh, rnn_relu, lstm, gru
    }

    /// The dtype of the random weights and input.
    enum BenchDType: String, ExpressibleByArgument, CaseIterable {
        case float32, float64
    }

    @Option(help: "rnn_tanh, rnn_relu, lstm or gru.")
    var mode: Mode = .rnn_tanh

    @Option(help: "Batch size.")
    var batch = 1

    @Option(help: "Time steps.")
    var seq = 100

    @Option(help: "Input features.")
    var input = 64

    @Option(help: "Hidden features.")
    var hidden = 128

    @Option(help: "Stacked layers.")
    var layers = 1

    @Option(help: "LSTM only: projection size (0: none).")
    var projSize = 0

    @Flag(help: "Bidirectional layers.")
    var bidirectional = false

    @Flag(help: "Input and output are [batch, time, features].")
    var batchFirst = false

    @Option(help: "float32 or float64.")
    var dtype: BenchDType = .float32

    @Option(help: "Timed runs.")
    var runs = 20

    @Option(help: "Untimed runs before timing.")
    var warmup = 3

    @Option(help: "Most threads for the forward pass, 1 or more (default: the machine's active cores).")
    var threads: Int?

    @Flag(help: "Time one-step calls through the stream API (RNNStream.step) instead of whole sequences.")
    var stream = false

    @Option(help: "Seed of the random weights and input.")
    var seed: UInt64 = 0

    @Option(help: "Time this model file instead of a random one (needs --inputs).")
    var model: String?

    @Option(help: "The inputs for --model: `input`, optional `h0`, `c0`, `lengths` (as rnn-run reads them).")
    var inputs: String?

    @Flag(help: "Print one JSON object instead of a line of text.")
    var json = false

    public init() {}

    public func validate() throws {
        guard (model == nil) == (inputs == nil) else { throw ValidationError("--model and --inputs go together") }
        for (name, value) in [("--batch", batch), ("--seq", seq), ("--input", input), ("--hidden", hidden), ("--layers", layers),
                              ("--runs", runs)] where value < 1 {
            throw ValidationError("\(name) must be at least 1 (got \(value))")
        }
        guard warmup >= 0 else { throw ValidationError("--warmup must be at least 0 (got \(warmup))") }
        guard projSize >= 0, projSize == 0 || (mode == .lstm && projSize < hidden) else {
            throw ValidationError("--proj-size must be 0, or below --hidden for an LSTM (got \(projSize))")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
        if stream, bidirectional { throw ValidationError("--stream needs a unidirectional model: a bidirectional one cannot stream") }
        if stream, model != nil { throw ValidationError("--stream times a random model: leave out --model and --inputs") }
    }

    public func run() throws {
        let rnn: RNN
        let runInputs: RunInputs?
        var random: Tensor?
        var generatorForStream = SplitMix64(seed: seed)
        if let model, let inputs {
            rnn = try CommandSupport.model(CommandSupport.read(model), from: model, options: RNNLoadOptions())
            runInputs = try RunInputs(path: inputs)
        } else {
            var generator = SplitMix64(seed: seed)
            rnn = try RNN(stateDict: randomStateDict(&generator))
            generatorForStream = generator
            let shape = batchFirst ? [batch, seq, input] : [seq, batch, input]
            random = try tensor(shape: shape, bound: 1, &generator)
            runInputs = nil
        }
        let times = try (stream ? timeSteps(rnn, &generatorForStream) : timeForward(rnn, runInputs, random)).sorted()
        let median = Self.median(times)
        let c = rnn.configuration
        let shape = runInputs?.input.shape ?? random!.shape
        let usedThreads = threads ?? ProcessInfo.processInfo.activeProcessorCount
        let medianText = String(format: "%.4f", median), minText = String(format: "%.4f", times[0])
        let stepText = String(format: "%.3f", median * 1000 / Double(seq))
        let fields: [(String, String)] = [
            ("mode", quoted(model == nil ? mode.rawValue : c.mode == .rnn ? "rnn_\(c.nonlinearity)" : c.mode.rawValue)),
            ("model", model.map(quoted) ?? "null"),
            ("input_shape", "[" + shape.map(String.init).joined(separator: ", ") + "]"),
            ("batch", "\(model == nil ? batch : (shape.count == 2 ? 1 : c.batchFirst ? shape[0] : shape[1]))"),
            ("seq", "\(model == nil ? seq : (c.batchFirst && shape.count == 3 ? shape[1] : shape[0]))"),
            ("input", "\(c.inputSize)"), ("hidden", "\(c.hiddenSize)"), ("layers", "\(c.numLayers)"),
            ("proj_size", "\(c.projSize)"), ("bidirectional", "\(c.bidirectional)"), ("batch_first", "\(c.batchFirst)"),
            ("dtype", quoted(rnn.precision.rawValue)),
            ("threads", "\(usedThreads)"),
            ("instruction_set", quoted(RNN.kernelInstructionSet)), ("stream", "\(stream)"),
            ("runs", "\(runs)"), ("warmup", "\(warmup)"),
            ("median_ms", medianText), ("min_ms", minText),
            ("mean_ms", String(format: "%.4f", times.reduce(0, +) / Double(times.count))),
            ("max_ms", String(format: "%.4f", times[times.count - 1])),
        ] + (stream ? [("us_per_step", stepText)] : [])
        if json {
            print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
        } else {
            let what = stream ? "streamed step by step" : "on \(shape)"
            let perStep = stream ? " (\(stepText) µs a step)" : ""
            print("\(c) \(what), \(rnn.precision.rawValue), at most \(usedThreads) threads (\(RNN.kernelInstructionSet)): "
                  + "median \(medianText) ms\(perStep), min \(minText) ms over \(runs) runs")
        }
    }

    /// Milliseconds of each timed run of whole-sequence forward calls.
    private func timeForward(_ rnn: RNN, _ runInputs: RunInputs?, _ random: Tensor?) throws -> [Double] {
        let forward = { () throws -> RNNOutput in
            if let runInputs {
                return try runInputs.forward(rnn, threads: threads)
            }
            return try rnn.forward(random!, threads: threads)
        }
        for _ in 0..<warmup { _ = try forward() }
        return try (0..<runs).map { _ in
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try forward()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        }
    }

    /// Milliseconds of each timed run of `seq` one-step stream calls (each step's input from a different frame).
    private func timeSteps(_ rnn: RNN, _ generator: inout SplitMix64) throws -> [Double] {
        let stream = try rnn.makeStream(batch: batch, threads: threads)
        let frames = 16
        let count = stream.inputCount * frames
        switch rnn.precision {
        case .float32:
            let inputs = (0..<count).map { _ in Float(generator.uniform(1)) }
            var output = [Float](repeating: 0, count: stream.outputCount)
            return try inputs.withUnsafeBufferPointer { inputs in
                try output.withUnsafeMutableBufferPointer { output in
                    try timeSteps(stream) { try stream.step(UnsafeBufferPointer(rebasing: inputs[$0 * stream.inputCount..<($0 + 1) * stream.inputCount]), into: output) }
                }
            }
        case .float64:
            let inputs = (0..<count).map { _ in generator.uniform(1) }
            var output = [Double](repeating: 0, count: stream.outputCount)
            return try inputs.withUnsafeBufferPointer { inputs in
                try output.withUnsafeMutableBufferPointer { output in
                    try timeSteps(stream) { try stream.step(UnsafeBufferPointer(rebasing: inputs[$0 * stream.inputCount..<($0 + 1) * stream.inputCount]), into: output) }
                }
            }
        }
    }

    private func timeSteps(_ stream: RNNStream, _ step: (Int) throws -> Void) throws -> [Double] {
        for index in 0..<warmup * seq { try step(index % 16) }
        return try (0..<runs).map { _ in
            let start = DispatchTime.now().uptimeNanoseconds
            for index in 0..<seq { try step(index % 16) }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        }
    }

    private static func median(_ times: [Double]) -> Double {
        let times = times.sorted()
        return times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
    }

    private func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// PyTorch's names and shapes for this configuration, uniform(−1/√H, 1/√H) values.
    private func randomStateDict(_ generator: inout SplitMix64) throws -> StateDict {
        let gates = (mode == .lstm ? 4 : mode == .gru ? 3 : 1) * hidden
        let state = projSize > 0 ? projSize : hidden
        let bound = 1 / Double(hidden).squareRoot()
        var dict = StateDict()
        for layer in 0..<layers {
            for suffix in bidirectional ? ["_l\(layer)", "_l\(layer)_reverse"] : ["_l\(layer)"] {
                let inputWidth = layer == 0 ? input : state * (bidirectional ? 2 : 1)
                dict["weight_ih" + suffix] = try tensor(shape: [gates, inputWidth], bound: bound, &generator)
                dict["weight_hh" + suffix] = try tensor(shape: [gates, state], bound: bound, &generator)
                dict["bias_ih" + suffix] = try tensor(shape: [gates], bound: bound, &generator)
                dict["bias_hh" + suffix] = try tensor(shape: [gates], bound: bound, &generator)
                if projSize > 0 { dict["weight_hr" + suffix] = try tensor(shape: [projSize, hidden], bound: bound, &generator) }
            }
        }
        if mode == .rnn_relu { dict.metadata["nonlinearity"] = "relu" }
        dict.metadata["batch_first"] = batchFirst ? "true" : "false"
        return dict
    }

    private func tensor(shape: [Int], bound: Double, _ generator: inout SplitMix64) throws -> Tensor {
        let count = shape.reduce(1, *)
        switch dtype {
        case .float32:
            return try Tensor(shape: shape, elements: (0..<count).map { _ in Float(generator.uniform(bound)) })
        case .float64:
            return try Tensor(shape: shape, elements: (0..<count).map { _ in generator.uniform(bound) })
        }
    }
}

/// A small seeded generator (SplitMix64), so that a benchmark's weights are the same on every run.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [−bound, bound).
    mutating func uniform(_ bound: Double) -> Double {
        (Double(next() >> 11) / Double(1 << 53) * 2 - 1) * bound
    }
}
