import ArgumentParser
import Foundation
import RNNKit

/// `rnn-inspect FILE`: lists a tensor file's tensors and metadata, then the RNN modules in it.
public struct Inspect: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "rnn-inspect",
        abstract: "List the tensors, metadata and RNN modules of a model file (NPY, NPZ, HDF5, safetensors, PyTorch, TorchScript, Keras, ONNX).",
        discussion: """
            Examples:
              rnn-inspect model.h5
              rnn-inspect checkpoint.npz --json
              rnn-inspect checkpoint.npz --prefix decoder.rnn --nonlinearity relu
            """)

    @Argument(help: "The file to inspect (.npy, .npz, .h5/.hdf5; the format is read from its first bytes).")
    var file: String

    @Flag(help: "Print everything as one JSON object.")
    var json = false

    @OptionGroup var options: ModelOptions

    public init() {}

    public func run() throws {
        let url = URL(fileURLWithPath: file)
        let format = try TensorFile.format(of: url)
        let stateDict: StateDict
        var graph: ONNXSummary?
        // An ONNX model is decoded once for its graph and its tensors (a model that is not ONNX at all is read
        // again by the common path, which says what is wrong).
        if format == ONNXFormat.self, let (summary, read) = try? ONNXFormat.readWithSummary(contentsOf: url) {
            // The graph first: it is shown even when its recurrent nodes cannot be read (the error follows).
            if !json { print(InspectReport.onnxText(summary)) }
            graph = summary
            stateDict = try read.get()
        } else {
            stateDict = try CommandSupport.read(file)
        }
        var report = InspectReport(file: file, format: stateDict.metadata["keras_file"] ?? format.name, stateDict: stateDict,
                                   options: options.loadOptions)
        report.onnxGraph = graph
        print(json ? report.json : report.text)
    }
}

/// What `rnn-inspect` prints, kept apart from the command so tests can check it.
public struct InspectReport {
    public let file: String
    public let format: String
    public let stateDict: StateDict
    /// Each RNN module (or the one chosen by prefix) and its configuration, or why it cannot load.
    public let modules: [(prefix: String, result: Result<RNN, RNNLoadError>)]
    /// Why no module was listed, when none was.
    public let noModuleReason: RNNLoadError?
    /// An ONNX model's graph, for the JSON (the text prints it before the report).
    package var onnxGraph: ONNXSummary?

    /// A report about `stateDict`, read from `file` in `format`; modules are loaded with `options`.
    public init(file: String, format: String, stateDict: StateDict, options: RNNLoadOptions = RNNLoadOptions()) {
        self.file = file
        self.format = format
        self.stateDict = stateDict
        let prefixes = options.prefix.map { [$0.hasSuffix(".") ? String($0.dropLast()) : $0] } ?? RNNModuleFinder.prefixes(in: stateDict.names)
        var modules: [(String, Result<RNN, RNNLoadError>)] = []
        var reason: RNNLoadError?
        for prefix in prefixes {
            var moduleOptions = options
            moduleOptions.prefix = prefix
            do {
                modules.append((prefix, .success(try RNN(stateDict: stateDict, options: moduleOptions))))
            } catch let error as RNNLoadError {
                if case .prefixNotFound = error { reason = error } else { modules.append((prefix, .failure(error))) }
            } catch {}
        }
        if prefixes.isEmpty { reason = .noRNN }
        self.modules = modules
        self.noModuleReason = modules.isEmpty ? reason : nil
    }

    /// A header line, an aligned table of tensors, the metadata, then the RNN modules.
    public var text: String {
        let count = stateDict.tensors.count
        var lines = ["\(DisplayText.escaped(file)): \(format), \(count) \(count == 1 ? "tensor" : "tensors"), \(stateDict.byteCount) bytes"]
        let rows = stateDict.tensors.map { name, tensor in
            [DisplayText.escaped(name), tensor.dtype.rawValue, "[" + tensor.shape.map(String.init).joined(separator: ", ") + "]", "\(tensor.byteCount)"]
        }
        let table = [["name", "dtype", "shape", "bytes"]] + rows
        let widths = (0..<4).map { column in table.map { $0[column].count }.max() ?? 0 }
        for row in table {
            let cells = row.enumerated().map { column, cell in
                column == 3 ? String(repeating: " ", count: widths[column] - cell.count) + cell
                    : cell + String(repeating: " ", count: widths[column] - cell.count)
            }
            lines.append("  " + cells.joined(separator: "  "))
        }
        if stateDict.metadata.isEmpty {
            lines.append("metadata: none")
        } else {
            lines.append("metadata:")
            for (key, value) in stateDict.metadata {
                lines.append("  \(DisplayText.escaped(Self.cut(key))) = \(DisplayText.escaped(Self.cut(value)))")
            }
        }
        if let noModuleReason {
            lines.append("RNN modules: none: \(DisplayText.escaped(noModuleReason.description))")
        } else {
            lines.append("RNN modules:")
            for (prefix, result) in modules {
                let name = prefix.isEmpty ? "(no prefix)" : DisplayText.escaped(prefix)
                switch result {
                case .success(let rnn):
                    lines.append("  \(name): \(rnn.configuration), \(rnn.dtype)")
                    // A Keras file: the layers the module was made of, and what the file could not say.
                    let (layers, assumed) = sourceNotes(prefix)
                    for layer in layers { lines.append("    from Keras \(DisplayText.escaped(layer))") }
                    if let assumed { lines.append("    assumed: \(DisplayText.escaped(assumed.text))") }
                case .failure(let error): lines.append("  \(name): not usable: \(DisplayText.escaped(error.description))")
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    /// An ONNX model's graph: producer, inputs, outputs, initializers and recurrent nodes, one per line.
    package static func onnxText(_ summary: ONNXSummary) -> String {
        let e = { (text: String) in DisplayText.escaped(cut(text)) }
        var lines = ["ONNX graph: producer \(summary.producer.isEmpty ? "unnamed" : e(summary.producer)), IR version \(summary.irVersion), opset \(summary.opset.map(String.init) ?? "none")"]
        for (title, values) in [("inputs", summary.inputs), ("outputs", summary.outputs), ("initializers", summary.initializers)] {
            lines.append("  \(title): \(values.isEmpty ? "none" : "\(values.count)")")
            for value in values.prefix(longestListing) { lines.append("    \(e(value.name))  \(e(value.type))  \(e(value.shape))") }
            if values.count > longestListing { lines.append("    … \(values.count - longestListing) more") }
        }
        lines.append("  recurrent nodes: \(summary.recurrentNodes.isEmpty ? "none" : "\(summary.recurrentNodes.count)")")
        for node in summary.recurrentNodes { lines.append("    \(e(node))") }
        if let problem = summary.problem { lines.append("    not readable: \(DisplayText.escaped(problem))") }
        return lines.joined(separator: "\n")
    }

    /// Inputs, outputs or initializers listed before "… N more".
    static let longestListing = 40

    /// The Keras layers a module was read from (`keras_layers`, `; `-separated) and what was assumed
    /// (`keras_assumed`, or `torchscript_assumed` for a TorchScript module), from the metadata the reader wrote
    /// (under the module's prefix when there are several).
    func sourceNotes(_ prefix: String) -> (layers: [String], assumed: (key: String, text: String)?) {
        let key = { (name: String) in prefix.isEmpty ? name : "\(prefix).\(name)" }
        let layers = stateDict.metadata[key("keras_layers")].map { $0.components(separatedBy: "; ") } ?? []
        let assumed = ["keras_assumed", "torchscript_assumed"].lazy.compactMap { name in
            self.stateDict.metadata[key(name)].map { (key: name, text: $0) }
        }.first
        return (layers, assumed)
    }

    /// Metadata keys and values longer than this are cut in the text listing (the JSON has them whole).
    static let longestShownValue = 200

    /// `text`, or its first `longestShownValue` characters and how long it is.
    static func cut(_ text: String) -> String {
        guard text.count > longestShownValue else { return text }
        return "\(text.prefix(longestShownValue))… (\(text.count) characters; --json shows all)"
    }

    /// The same as one JSON object.
    public var json: String {
        var object: [String: Any] = [
            "file": file, "format": format, "bytes": stateDict.byteCount,
            "tensors": stateDict.tensors.map { name, tensor in
                ["name": name, "dtype": tensor.dtype.rawValue, "shape": tensor.shape, "bytes": tensor.byteCount] as [String: Any]
            },
            "metadata": Dictionary(uniqueKeysWithValues: stateDict.metadata.elements.map { ($0.key, $0.value) }),
            "rnn_modules": modules.map { prefix, result -> [String: Any] in
                switch result {
                case .success(let rnn):
                    var configuration: [String: Any] = [:]
                    for (key, value) in rnn.metadata where key != "prefix" {
                        // The metadata's strings, typed back: numbers as numbers, "true"/"false" as booleans.
                        if let number = Int(value) { configuration[key] = number }
                        else if let number = Double(value) { configuration[key] = number }
                        else if value == "true" || value == "false" { configuration[key] = value == "true" }
                        else { configuration[key] = value }
                    }
                    var module: [String: Any] = ["prefix": prefix, "usable": true, "dtype": rnn.dtype.rawValue, "configuration": configuration]
                    let (layers, assumed) = sourceNotes(prefix)
                    if !layers.isEmpty { module["keras_layers"] = layers }
                    if let assumed { module[assumed.key] = assumed.text }
                    return module
                case .failure(let error):
                    return ["prefix": prefix, "usable": false, "error": error.description]
                }
            },
        ]
        if let noModuleReason { object["no_rnn_reason"] = noModuleReason.description }
        if let graph = onnxGraph {
            let values = { (values: [ONNXSummary.Value]) in
                values.map { ["name": $0.name, "type": $0.type, "shape": $0.shape] as [String: Any] }
            }
            var summary: [String: Any] = [
                "producer": graph.producer, "ir_version": Int(graph.irVersion), "inputs": values(graph.inputs),
                "outputs": values(graph.outputs), "initializers": values(graph.initializers),
                "recurrent_nodes": graph.recurrentNodes,
            ]
            if let opset = graph.opset { summary["opset"] = Int(opset) }
            object["onnx_graph"] = summary
        }
        return JSONText.encode(object)
    }
}
