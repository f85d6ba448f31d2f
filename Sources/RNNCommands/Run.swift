import ArgumentParser
import Foundation
import RNNKit

/// `rnn-run MODEL INPUTS -o OUT`: runs the RNN on `input` (and `h0`) and writes `output` and `h_n`.
public struct Run: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "rnn-run",
        abstract: "Run a PyTorch RNN, LSTM or GRU on inputs and write output, h_n (and c_n).",
        discussion: """
            INPUTS holds `input` (or `x`) and optionally `h0` (or `hx`), `c0` (or `cx`, LSTM) and `lengths` (one
            integer per batch element: the result of a packed sequence, zeros past each length). OUT receives
            `output`, `h_n` and, for an LSTM, `c_n`, in the model's compute precision (float64 for float64
            weights, else float32). OUT is written atomically.

            Examples:
              rnn-run model.npz inputs.npz -o outputs.npz
              rnn-run model.h5 inputs.h5 -o outputs.h5 --batch-first --force
              rnn-run model.npz inputs.npz -o outputs.npz --stream

            With --stream, a unidirectional model runs through the stream API (RNNStream), one call per time step,
            starting from h0/c0: the same outputs, bit for bit, as a whole-sequence run (no `lengths`).
            """)

    @Argument(help: "The model file (.npz, .h5/.hdf5, .safetensors, .pt/.pth (torch.save or torch.jit.save), .keras, .weights.h5, .onnx).")
    var model: String

    @Argument(help: "The inputs: `input` (alias `x`), optional `h0` (alias `hx`), `c0` (alias `cx`), `lengths`.")
    var inputs: String

    @Option(name: .shortAndLong, help: "The output file: .npz, .h5/.hdf5 or .safetensors, by its extension.")
    var output: String

    @Flag(help: "Replace OUT if it exists.")
    var force = false

    @Flag(help: "Run through the stream API, one time step per call (unidirectional models, no lengths).")
    var stream = false

    @Option(help: "Most threads for the forward pass, 1 or more (default: the machine's active cores).")
    var threads: Int?

    @OptionGroup var options: ModelOptions

    public init() {}

    public func validate() throws {
        _ = try OutputFormat.of(output, allowed: [.npz, .h5, .safetensors])
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
    }

    public func run() throws {
        let format = try OutputFormat.of(output, allowed: [.npz, .h5, .safetensors])
        try CommandSupport.checkOverwrite(output, force: force)
        let progress = Progress(command: "rnn-run", bytes: CommandSupport.size(of: model), quiet: options.quiet)
        progress.step("loading \(model)")
        let rnn = try CommandSupport.model(CommandSupport.read(model), from: model, options: options.loadOptions)
        if stream, rnn.configuration.bidirectional || rnn.configuration.reverse { throw CommandFailure("\(model): \(RNNInputError.bidirectionalStream)") }
        progress.step("running")
        let runInputs = try RunInputs(path: inputs)
        let result = try stream ? runInputs.stream(rnn, threads: threads) : runInputs.forward(rnn, threads: threads)
        progress.step("writing \(output)")
        var outputs = StateDict(tensors: ["output": result.output, "h_n": result.hN])
        if let cN = result.cN { outputs["c_n"] = cN }
        try format.tensorFormat!.write(outputs, to: URL(fileURLWithPath: output), options: WriteOptions(replaceExisting: force))
        progress.done()
    }
}

/// The `input`, `h0`, `c0` and `lengths` tensors of an inputs file, by their names or PyTorch's aliases.
struct RunInputs {
    let path: String
    let input: Tensor
    let h0: Tensor?
    let c0: Tensor?
    let lengths: [Int]?

    init(path: String) throws {
        self.path = path
        let dict = try CommandSupport.read(path)
        guard let input = dict["input"] ?? dict["x"] else {
            throw CommandFailure("\(path): no tensor named \"input\" (or \"x\"); found: \(dict.names.joined(separator: ", "))")
        }
        self.input = input
        self.h0 = dict["h0"] ?? dict["hx"]
        self.c0 = dict["c0"] ?? dict["cx"]
        if let lengths = dict["lengths"] {
            guard lengths.shape.count == 1, let values = lengths.integerValues() else {
                throw CommandFailure("\(path): tensor \"lengths\" must be a 1-D integer tensor (found \(lengths.dtype) \(lengths.shape))")
            }
            self.lengths = values
        } else {
            self.lengths = nil
        }
    }

    /// Runs `rnn`, attributing shape and dtype problems to this file.
    func forward(_ rnn: RNN, threads: Int? = nil) throws -> RNNOutput {
        do {
            return try rnn.forward(input, h0: h0, c0: c0, lengths: lengths, threads: threads)
        } catch let error as RNNInputError {
            throw CommandFailure("\(path): \(error)")
        }
    }

    /// Runs `rnn` through a stream, one step per call, from h0/c0: what `forward` gives, bit for bit.
    func stream(_ rnn: RNN, threads: Int?) throws -> RNNOutput {
        do {
            guard lengths == nil else {
                throw CommandFailure("\(path): --stream runs every sequence to the end: leave out \"lengths\" (or --stream)")
            }
            return switch rnn.precision {
            case .float32: try stream(rnn, threads: threads, as: Float.self)
            case .float64: try stream(rnn, threads: threads, as: Double.self)
            }
        } catch let error as RNNInputError {
            throw CommandFailure("\(path): \(error)")
        }
    }

    private func stream<S: StreamScalar>(_ rnn: RNN, threads: Int?, as: S.Type) throws -> RNNOutput {
        let c = rnn.configuration
        let unbatched = input.shape.count == 2
        guard unbatched || input.shape.count == 3, input.shape.last == c.inputSize else {
            throw RNNInputError.wrongShape(name: "input", expected: unbatched ? [nil, c.inputSize] : [nil, nil, c.inputSize], found: input.shape)
        }
        let batchFirst = c.batchFirst && !unbatched
        let steps = batchFirst ? input.shape[1] : input.shape[0]
        let batch = unbatched ? 1 : (batchFirst ? input.shape[0] : input.shape[1])
        let stream = try rnn.makeStream(batch: batch, threads: threads)
        // An unbatched h0/c0 ([L, S]) is the batched one of a batch of 1.
        func batched(_ tensor: Tensor?, name: String, width: Int) throws -> Tensor? {
            guard let tensor else { return nil }
            guard unbatched else { return tensor }
            guard tensor.shape == [c.numLayers, width] else {
                throw RNNInputError.wrongShape(name: name, expected: [c.numLayers, width], found: tensor.shape)
            }
            return try tensor.reshaped([c.numLayers, 1, width])
        }
        var state = rnn.zeroState(batch: batch)
        if let h = try batched(h0, name: "h0", width: c.outputSize) { state.h = h }
        if let cell = try batched(c0, name: "c0", width: c.hiddenSize) {
            guard c.mode == .lstm else { throw RNNInputError.noCellState }
            state.c = cell
        }
        if h0 != nil || c0 != nil { try stream.setState(state) }

        let x = try S.values(input)
        let inputWidth = c.inputSize, outputWidth = c.outputSize
        var output = [S](repeating: 0, count: steps * batch * outputWidth)
        var stepInput = [S](repeating: 0, count: batch * inputWidth)
        var stepOutput = [S](repeating: 0, count: batch * outputWidth)
        for t in 0..<steps {
            for b in 0..<batch {  // row of (t, b): t·B + b time-major, b·T + t batch-first
                let row = batchFirst ? b * steps + t : t * batch + b
                stepInput.replaceSubrange(b * inputWidth..<(b + 1) * inputWidth, with: x[row * inputWidth..<(row + 1) * inputWidth])
            }
            try stepInput.withUnsafeBufferPointer { input in
                try stepOutput.withUnsafeMutableBufferPointer { try S.step(stream, input, $0) }
            }
            for b in 0..<batch {
                let row = batchFirst ? b * steps + t : t * batch + b
                output.replaceSubrange(row * outputWidth..<(row + 1) * outputWidth, with: stepOutput[b * outputWidth..<(b + 1) * outputWidth])
            }
        }
        let shape = unbatched ? [steps, outputWidth] : batchFirst ? [batch, steps, outputWidth] : [steps, batch, outputWidth]
        let final = stream.state
        let unbatch = { (tensor: Tensor) in unbatched ? try tensor.reshaped([tensor.shape[0], tensor.shape[2]]) : tensor }
        return RNNOutput(output: try Tensor(shape: shape, elements: output), hN: try unbatch(final.h), cN: try final.c.map(unbatch))
    }
}

/// Float or Double, as `rnn-run --stream` feeds them to a stream.
private protocol StreamScalar: TensorElement, BinaryFloatingPoint {
    /// The tensor's values in this type (float64 refused for Float, as the forward pass refuses it).
    static func values(_ tensor: Tensor) throws -> [Self]
    static func step(_ stream: RNNStream, _ input: UnsafeBufferPointer<Self>, _ output: UnsafeMutableBufferPointer<Self>) throws
}

extension Float: StreamScalar {
    static func values(_ tensor: Tensor) throws -> [Float] {
        guard tensor.dtype.isFloatingPoint, tensor.dtype != .float64 else {
            throw RNNInputError.wrongDType(name: "input", expected: .float32, found: tensor.dtype)
        }
        return try tensor.floatValues()
    }

    static func step(_ stream: RNNStream, _ input: UnsafeBufferPointer<Float>, _ output: UnsafeMutableBufferPointer<Float>) throws {
        try stream.step(input, into: output)
    }
}

extension Double: StreamScalar {
    static func values(_ tensor: Tensor) throws -> [Double] {
        guard tensor.dtype.isFloatingPoint else { throw RNNInputError.wrongDType(name: "input", expected: .float64, found: tensor.dtype) }
        return try tensor.doubleValues()
    }

    static func step(_ stream: RNNStream, _ input: UnsafeBufferPointer<Double>, _ output: UnsafeMutableBufferPointer<Double>) throws {
        try stream.step(input, into: output)
    }
}
