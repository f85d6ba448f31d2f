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
            """)

    @Argument(help: "The model file (.npz, .h5/.hdf5, .safetensors, .pt/.pth).")
    var model: String

    @Argument(help: "The inputs: `input` (alias `x`), optional `h0` (alias `hx`), `c0` (alias `cx`), `lengths`.")
    var inputs: String

    @Option(name: .shortAndLong, help: "The output file: .npz, .h5/.hdf5 or .safetensors, by its extension.")
    var output: String

    @Flag(help: "Replace OUT if it exists.")
    var force = false

    @OptionGroup var options: ModelOptions

    public init() {}

    public func validate() throws {
        _ = try OutputFormat.of(output, allowed: [.npz, .h5, .safetensors])
    }

    public func run() throws {
        let format = try OutputFormat.of(output, allowed: [.npz, .h5, .safetensors])
        try CommandSupport.checkOverwrite(output, force: force)
        let progress = Progress(command: "rnn-run", bytes: CommandSupport.size(of: model), quiet: options.quiet)
        progress.step("loading \(model)")
        let rnn = try CommandSupport.model(CommandSupport.read(model), from: model, options: options.loadOptions)
        progress.step("running")
        let result = try RunInputs(path: inputs).forward(rnn)
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
    func forward(_ rnn: RNN) throws -> RNNOutput {
        do {
            return try rnn.forward(input, h0: h0, c0: c0, lengths: lengths)
        } catch let error as RNNLoadError {
            throw CommandFailure("\(path): \(error)")
        }
    }
}
