import ArgumentParser
import Foundation
import RNNKit

/// `rnn-convert MODEL [-o OUT]`: validates an RNN and writes it in another format, ready to load with no flags.
public struct Convert: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "rnn-convert",
        abstract: "Validate a PyTorch RNN, LSTM or GRU and write it as NPZ or HDF5 with its configuration.",
        discussion: """
            The RNN module is loaded and checked completely before anything is written; only its tensors are
            written (PyTorch's names, prefix kept unless --strip-prefix), with the configuration as metadata so
            the new file needs no flags later. Other tensors in the file (embeddings, linear layers) are left out.
            The output is written to a temporary file beside it and renamed into place.

            Examples:
              rnn-convert model.h5                     # writes model.npz beside it
              rnn-convert model.npz -o model.h5 --compress
              rnn-convert checkpoint.npz --prefix encoder.rnn --strip-prefix -o encoder.npz
              rnn-convert model.npz --nonlinearity relu --dtype float16 -o model-half.h5
            """)

    @Argument(help: "The model file (.npz, .h5/.hdf5, .npy).")
    var model: String

    @Option(name: .shortAndLong, help: "The output file; its extension chooses the format. Default: MODEL.npz for an HDF5 input, else MODEL.h5.")
    var output: String?

    @Option(help: "The output format when -o has no telling extension, or without -o: npz or h5.")
    var to: OutputFormat?

    @Option(help: "Convert the weights: float16, bfloat16, float32 or float64 (bfloat16 only to HDF5).")
    var dtype: DType?

    @Flag(help: "Compress: deflate in NPZ, gzip in HDF5.")
    var compress = false

    @Flag(help: "Replace OUT if it exists.")
    var force = false

    @Flag(help: "Drop the module's prefix from the tensor names.")
    var stripPrefix = false

    @OptionGroup var options: ModelOptions

    /// The formats rnn-convert writes.
    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case npz, h5
    }

    public init() {}

    public func validate() throws {
        if let dtype, !dtype.isFloatingPoint {
            throw ValidationError("--dtype must be float16, bfloat16, float32 or float64")
        }
        if let output, let to, let format = TensorFile.format(forExtension: URL(fileURLWithPath: output)),
           !(to == .npz ? format == NPZFormat.self : format == HDF5Format.self)
        {
            throw ValidationError("-o \(output) and --to \(to.rawValue) name different formats")
        }
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
        var written = rnn.stateDict(keepPrefix: !stripPrefix)
        if let dtype {
            for (name, tensor) in written.tensors { written.tensors[name] = try tensor.converted(to: dtype) }
        }
        progress.step("writing \(out)")
        let url = URL(fileURLWithPath: out)
        let writeOptions = WriteOptions(compress: compress)
        if let format = TensorFile.format(forExtension: url) {
            try format.write(written, to: url, options: writeOptions)
        } else if to == .npz {
            try NPZFormat.write(written, to: url, options: writeOptions)
        } else if to == .h5 {
            try HDF5Format.write(written, to: url, options: writeOptions)
        } else {
            throw CommandFailure("\(out): unknown extension \".\(url.pathExtension)\" (use .npz or .h5, or --to)")
        }
        progress.done()
        let inputFormat = try TensorFile.format(of: URL(fileURLWithPath: model)).name
        let outputFormat = (TensorFile.format(forExtension: url) ?? (to == .npz ? NPZFormat.self : HDF5Format.self)).name
        let others = source.tensors.count - rnn.tensors.count
        let dtypeText = dtype.map { "\(rnn.dtype) → \($0)" } ?? "\(rnn.dtype)"
        print("\(model) (\(inputFormat)) → \(out) (\(outputFormat), \(written.tensors.count) tensors, \(dtypeText)"
            + (others > 0 ? ", \(others) other tensors left out" : "") + "): "
            + (rnn.prefix.isEmpty ? "" : "\(rnn.prefix) = ") + "\(rnn.configuration)")
    }
}
