import ArgumentParser
import Foundation
import RNNKit

/// `rnn-convert MODEL [-o OUT]`: validates an RNN and writes it in another format (NPZ, HDF5, safetensors, or an
/// ONNX model), ready to load with no flags.
public struct Convert: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "rnn-convert",
        abstract: "Validate a PyTorch, TorchScript, Keras or ONNX RNN, LSTM or GRU and write it as NPZ, HDF5, safetensors, ONNX or Keras.",
        discussion: """
            The RNN module is loaded and checked completely before anything is written; only its tensors are
            written (PyTorch's names, prefix kept unless --strip-prefix), with the configuration as metadata so
            the new file needs no flags later. Other tensors in the file (embeddings, linear layers) are left out.
            The output is written to a temporary file beside it and renamed into place. An .onnx output is a
            model ONNX Runtime runs (opset 14; inputs input, optional h0/c0/lengths; outputs output, h_n, c_n).

            Examples:
              rnn-convert model.h5                     # writes model.npz beside it
              rnn-convert model.npz -o model.h5 --compress
              rnn-convert checkpoint.npz --prefix encoder.rnn --strip-prefix -o encoder.npz
              rnn-convert model.npz --nonlinearity relu --dtype float16 -o model-half.h5
              rnn-convert model.pt --prefix rnn -o model.safetensors
              rnn-convert model.safetensors -o model.onnx
              rnn-convert model.keras -o model.npz     # a Keras model's PyTorch state_dict
              rnn-convert model.pt -o model.keras      # a model keras.models.load_model opens
              rnn-convert model.onnx -o model.npz      # the state_dict the ONNX model was exported from
              rnn-convert scripted.pt --prefix encoder.rnn -o encoder.npz   # from a torch.jit.save archive
            """)

    @Argument(help: "The model file (.npz, .h5/.hdf5, .safetensors, .pt/.pth (torch.save or torch.jit.save), .npy, .keras, .weights.h5, .onnx).")
    var model: String

    @Option(name: .shortAndLong, help: "The output file; its extension chooses the format. Default: MODEL.npz for an HDF5 input, else MODEL.h5.")
    var output: String?

    @Option(help: "The output format when -o has no telling extension, or without -o: npz, h5, safetensors, onnx, keras or weights.h5.")
    var to: OutputFormat?

    @Option(help: "Convert the weights: float16, bfloat16, float32 or float64 (bfloat16 not to NPZ; ONNX takes float32 or float64).")
    var dtype: DType?

    @Flag(help: "Compress: deflate in NPZ, gzip in HDF5.")
    var compress = false

    @Flag(help: "Replace OUT if it exists.")
    var force = false

    @Flag(help: "Drop the module's prefix from the tensor names.")
    var stripPrefix = false

    @OptionGroup var options: ModelOptions

    public init() {}

    public func validate() throws {
        if let dtype, !dtype.isFloatingPoint {
            throw ValidationError("--dtype must be float16, bfloat16, float32 or float64")
        }
        let named = output.flatMap(OutputFormat.init(path:)) ?? to
        if let dtype, let format = named, format == .keras || format == .kerasWeights {
            throw ValidationError("--dtype \(dtype) does not apply to Keras files (written in float32, or float64 for a float64 model)")
        }
        if compress, let format = named, format == .safetensors || format.isModel {
            throw ValidationError("--compress applies to NPZ and HDF5 only (\(format.rawValue) has no compression)")
        }
        if let output, let to, let named = OutputFormat(path: output), named != to {
            throw ValidationError("-o \(DisplayText.escaped(output)) and --to \(to.rawValue) name different formats")
        }
        if let output, to == nil { _ = try OutputFormat.of(output, allowed: OutputFormat.allCases, orElse: ", or --to") }
    }

    /// Where the output goes: -o, else MODEL with the extension of --to, else the other format's extension.
    func destination() -> String {
        let input = URL(fileURLWithPath: model)
        guard let output else {
            let inputIsHDF5 = (try? TensorFile.format(of: input))?.name == HDF5Format.name
            let ext = to?.rawValue ?? (inputIsHDF5 ? "npz" : "h5")
            return model.hasSuffix("." + input.pathExtension) && !input.pathExtension.isEmpty
                ? String(model.dropLast(input.pathExtension.count)) + ext
                : model + "." + ext
        }
        return output
    }

    public func run() throws {
        let out = destination()
        try CommandSupport.checkOverwrite(out, force: force)
        let progress = Progress(command: "rnn-convert", bytes: CommandSupport.size(of: model), quiet: options.quiet)
        progress.step("reading \(model)")
        let source = try CommandSupport.read(model)
        let rnn = try CommandSupport.model(source, from: model, options: options.loadOptions)
        progress.step("writing \(out)")
        // validate() made sure that -o names a format or --to gives one; destination() uses --to's extension.
        guard let format = to ?? OutputFormat(path: out) else { throw CommandFailure("\(out): no output format") }
        let url = URL(fileURLWithPath: out)
        let writtenSummary: String
        if format == .keras || format == .kerasWeights {
            do {
                if format == .keras {
                    try rnn.writeKeras(to: url, replaceExisting: force)
                } else {
                    try rnn.writeKerasWeights(to: url, replaceExisting: force)
                }
            } catch let error as RNNExportError {
                throw CommandFailure("\(out): \(error)")
            }
            writtenSummary = (format == .keras ? "Keras model" : "Keras weights") + ", \(rnn.dtype == .float64 ? "float64" : "float32")"
        } else if format == .onnx {
            let precision: Precision?
            switch dtype {
            case nil: precision = nil
            case .float32?: precision = .float32
            case .float64?: precision = .float64
            case let other?: throw CommandFailure("\(out): --dtype \(other) cannot be written to ONNX (use float32 or float64)")
            }
            do {
                try rnn.writeONNX(to: url, precision: precision, replaceExisting: force)
            } catch let error as ONNXExportError {
                throw CommandFailure("\(out): \(error)")
            }
            writtenSummary = "ONNX, opset \(RNN.onnxOpsetVersion), \((precision ?? rnn.precision).rawValue)"
        } else {
            // Converted here, not before: the ONNX writer converts its weights piece by piece as it writes them.
            var written: StateDict
            do {
                written = try rnn.stateDict(keepPrefix: !stripPrefix)
            } catch let error as RNNExportError {
                throw CommandFailure("\(out): \(error)")
            }
            if let dtype {
                for (name, tensor) in written.tensors { written.tensors[name] = try tensor.converted(to: dtype) }
            }
            try format.tensorFormat!.write(written, to: url, options: WriteOptions(compress: compress, replaceExisting: force))
            let dtypeText = dtype.map { "\(rnn.dtype) → \($0)" } ?? "\(rnn.dtype)"
            writtenSummary = "\(format.tensorFormat!.name), \(written.tensors.count) tensors, \(dtypeText)"
        }
        progress.done()
        let inputFormat = try source.metadata["keras_file"] ?? TensorFile.format(of: URL(fileURLWithPath: model)).name
        let others = source.tensors.count - rnn.tensors.count
        printLine("\(model) (\(inputFormat)) → \(out) (\(writtenSummary)"
            + (others > 0 ? ", \(others) other tensors left out" : "") + "): "
            + (rnn.prefix.isEmpty ? "" : "\(rnn.prefix) = ") + "\(rnn.configuration)")
    }
}
