import Foundation

/// ONNX models (`.onnx`), read as the PyTorch state_dict of their recurrent nodes; written from a model by
/// `RNN.writeONNX` (RNNKit), not from tensors.
///
/// Reading decodes the protobuf (`ProtobufReader`, `ONNXProto`), finds every `RNN`, `LSTM` and `GRU` node —
/// in the main graph and in the graphs of node attributes (`If` branches, `Loop` bodies) — evaluates their
/// `W`, `R` and `B` from constants without running the graph (`ONNXConstantFolder`), and turns each into
/// PyTorch's tensors (`ONNXRecurrentNode`). Nodes chained as torch's exporters chain the layers of one module
/// (through a `Squeeze`, or a `Transpose` and a `Reshape`) become one module with `num_layers`; each module's
/// configuration is metadata under its prefix (`mode`, `hidden_size`, `bidirectional`, `batch_first`,
/// `reverse`, …).
///
/// Names: a lone module has no prefix unless torch's exporter scoped its nodes (`/encoder/rnn/LSTM` gives
/// `encoder.rnn.weight_ih_l0`, as the exported module's state_dict). Several modules are named by that scope,
/// else by their first node's name; inside a branch, by the branch (`if_node.then_branch`), followed by the
/// node's name when the branch holds several.
///
/// A graph without a recurrent node (torch's dynamo exporter unrolls an `nn.RNN` into MatMul and Add) is
/// refused with an error saying so; nothing tries to recognise an unrolled cell.
public enum ONNXFormat: TensorFormat {
    public static let name = "ONNX"
    public static let fileExtensions = ["onnx"]

    public static func read(contentsOf url: URL) throws -> StateDict {
        try read(InputFile(path: url.filePath))
    }

    /// Always refuses: an ONNX model is written from an RNN (`RNN.writeONNX`, `rnn-convert -o model.onnx`).
    public static func write(_ stateDict: StateDict, to url: URL, options: WriteOptions) throws {
        throw TensorFileError(path: url.filePath, problem: .cannotStore(
            "an ONNX file holds a model: write it from an RNN (rnn-convert, RNN.writeONNX), not from tensors"))
    }

    /// True when `head` (a file's first bytes) starts as an ONNX ModelProto: `ir_version` (field 1, varint) and
    /// then a field of ModelProto, or a string field the exporters write first.
    static func matches(_ file: InputFile) throws -> Bool {
        let head = try file.bytes(at: 0, count: min(file.size, 64))
        guard head.count >= 4 else { return false }
        // ir_version first (torch, onnx.helper, tf2onnx and our writer all start so), a small version number.
        guard head[0] == 0x08, head[1] >= 3, head[1] <= 30 else { return false }
        let next = head[2]
        return [0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42, 0x72].contains(next)
    }

    /// Models above protobuf's 2 GiB limit are not ONNX files (their weights go in external data).
    static let maximumBytes = Int(Int32.max)

    static func read(_ file: InputFile) throws -> StateDict {
        try withModel(file) { model, data in try convert(model, modules: try modules(of: model, data: data), data: data) }
    }

    /// The model at `url` read once for both what `rnn-inspect` shows of its graph and its tensors (or why they
    /// cannot be read); throws only when it is not an ONNX model at all.
    package static func readWithSummary(contentsOf url: URL) throws -> (summary: ONNXSummary, stateDict: Result<StateDict, Error>) {
        try withModel(try InputFile(path: url.filePath)) { model, data in
            let found = Result { try modules(of: model, data: data) }
            return (ONNXSummary(model, modules: found), found.flatMap { modules in Result { try convert(model, modules: modules, data: data) } })
        }
    }

    /// Decodes `file` and hands its model and tensor source to `body`, within the lifetime of its bytes.
    static func withModel<R>(_ file: InputFile, _ body: (ONNXProto.Model, ONNXTensorData) throws -> R) throws -> R {
        guard file.size <= maximumBytes else {
            throw TensorFileError(path: file.path, problem: .tooLarge("\(file.size) bytes, more than protobuf's 2 GiB limit"))
        }
        let bytes = try file.bytes(at: 0, count: file.size)
        return try bytes.withUnsafeBytes { buffer in
            let model: ONNXProto.Model
            do { model = try ONNXProto.Model(decoding: buffer) } catch let failure as ProtobufReader.Failure {
                throw TensorFileError(path: file.path, problem: .malformed("not a valid ONNX model: \(failure.detail) (at byte \(failure.offset))"))
            }
            return try body(model, ONNXTensorData(buffer: buffer, file: file))
        }
    }

    // MARK: - Graphs to modules

    /// Every graph of the model: the main graph and, depth first, each graph held by a node attribute.
    static func scopes(of model: ONNXProto.Model) -> [ONNXScope] {
        var result: [ONNXScope] = []
        func visit(_ scope: ONNXScope) {
            result.append(scope)
            for (index, node) in scope.graph.nodes.enumerated() {
                let owner = ONNXRecurrentNode.displayName(node, index: index)
                for attribute in node.attributes {
                    switch attribute.value {
                    case .graph(let graph):
                        visit(ONNXScope(graph: graph, parent: scope, path: scope.path + [owner, attribute.name]))
                    case .graphs(let graphs):
                        for (position, graph) in graphs.enumerated() {
                            visit(ONNXScope(graph: graph, parent: scope, path: scope.path + [owner, "\(attribute.name)\(position)"]))
                        }
                    default: break
                    }
                }
            }
        }
        visit(ONNXScope(graph: model.graph, parent: nil, path: []))
        return result
    }

    /// One PyTorch module: recurrent nodes stacked as its layers, and whether its input is batch-first.
    struct Module {
        var layers: [ONNXRecurrentNode]
        var batchFirst: Bool
        var prefix = ""
        var first: ONNXRecurrentNode { layers[0] }
    }

    /// The modules of `model`, named; throws when a recurrent node cannot be read, or there is none.
    static func modules(of model: ONNXProto.Model, data: ONNXTensorData) throws -> [Module] {
        var folder = ONNXConstantFolder(data: data, modelBytes: data.buffer.count)
        var modules: [Module] = []
        var operators: [String: Int] = [:]
        for scope in scopes(of: model) {
            var nodes: [Int: ONNXRecurrentNode] = [:]
            for (index, node) in scope.graph.nodes.enumerated() {
                operators[node.opType, default: 0] += 1
                if ONNXRecurrentNode.isRecurrent(node) {
                    nodes[index] = try ONNXRecurrentNode(node, index: index, scope: scope, folder: &folder)
                }
            }
            var taken: Set<Int> = []
            for index in nodes.keys.sorted() where !taken.contains(index) {
                var layers = [nodes[index]!]
                taken.insert(index)
                while let next = nextLayer(after: layers.last!, in: nodes, folder: &folder), !taken.contains(next.index) {
                    layers.append(next)
                    taken.insert(next.index)
                }
                let first = layers[0]
                modules.append(Module(layers: layers, batchFirst: first.layoutBatchFirst || readsTransposedInput(first, folder: &folder)))
            }
        }
        guard !modules.isEmpty else {
            let common = operators.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }.prefix(6)
                .map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
            throw TensorFileError(path: data.file.path, problem: .unsupportedFeature(
                "the ONNX graph has no RNN, LSTM or GRU node (its nodes: \(common.isEmpty ? "none" : common)); an exporter that unrolls the recurrence, as torch.onnx.export(dynamo=True) does for nn.RNN, leaves no weights to read: export with dynamo=False"))
        }
        name(&modules)
        return modules
    }

    /// The node that reads `node`'s output `Y` as its input `X` through only the reshaping torch's exporters put
    /// between layers, when it stacks with `node`; nil otherwise.
    static func nextLayer(after node: ONNXRecurrentNode, in nodes: [Int: ONNXRecurrentNode],
                          folder: inout ONNXConstantFolder) -> ONNXRecurrentNode? {
        // The value's dimensions, symbolically: Y is [T, D, B, H] (layout 1: [B, T, D, H]).
        enum Dimension: Equatable { case time, directions, batch, hidden, features }
        let scope = node.scope
        var dimensions: [Dimension] = node.layoutBatchFirst ? [.batch, .time, .directions, .hidden] : [.time, .directions, .batch, .hidden]
        guard var value = node.node.outputs.first, !value.isEmpty else { return nil }
        for _ in 0..<6 {
            // A `Shape` reads only the value's shape (torch's exporter sizes the next layer's h0 with one).
            guard let users = scope.consumers[value]?.filter({ scope.graph.nodes[$0].opType != "Shape" }),
                  users.count == 1 else { return nil }
            let user = scope.graph.nodes[users[0]]
            guard user.inputs.first == value, let output = user.outputs.first, !output.isEmpty else { return nil }
            if let next = nodes[users[0]] {
                let expected: [Dimension] = next.layoutBatchFirst ? [.batch, .time, .features] : [.time, .batch, .features]
                let normalized = dimensions.map { $0 == .hidden && node.directions == 1 ? .features : $0 }
                return normalized == expected && node.stacks(with: next) ? next : nil
            }
            func integers(_ position: Int) -> [Int]? {
                guard position < user.inputs.count, !user.inputs[position].isEmpty else { return nil }
                guard let tensor = try? folder.value(user.inputs[position], in: scope), tensor.dtype == .int64 || tensor.dtype == .int32 else { return nil }
                return tensor.integerValues()
            }
            func attribute(_ name: String) -> [Int]? {
                if case .ints(let values)? = user.attribute(name) { return values.map { Int(clamping: $0) } }
                return nil
            }
            switch user.opType {
            case "Identity":
                break
            case "Squeeze":
                guard let axes = integers(1) ?? attribute("axes") else { return nil }
                let resolved = Set(axes.map { $0 < 0 ? $0 + dimensions.count : $0 })
                guard resolved.allSatisfy({ dimensions.indices.contains($0) && dimensions[$0] == .directions }), node.directions == 1 else { return nil }
                dimensions = dimensions.enumerated().filter { !resolved.contains($0.offset) }.map(\.element)
            case "Transpose":
                guard let perm = attribute("perm"), perm.sorted() == Array(dimensions.indices) else { return nil }
                dimensions = perm.map { dimensions[$0] }
            case "Reshape":
                // Only [X, Y, D, H] → [X, Y, D·H]: the legacy exporter's shape [0, 0, -1], or the dynamo exporter's
                // static [X, Y, D·H] (sizes this reader does not know, taken as X and Y when the last is D·H).
                guard let shape = integers(1), dimensions.count == 4, dimensions[2] == .directions, dimensions[3] == .hidden,
                      shape.count == 3, shape[0] >= 0, shape[1] >= 0,
                      shape[2] == node.directions * node.hidden || (shape[2] == -1 && shape[0] == 0 && shape[1] == 0) else { return nil }
                dimensions = [dimensions[0], dimensions[1], .features]
            default:
                return nil
            }
            value = output
        }
        return nil
    }

    /// True when the first layer's `X` is a graph input transposed from batch-first ([B, T, I] → [T, B, I]),
    /// as torch's exporter writes a `batch_first=True` module.
    static func readsTransposedInput(_ node: ONNXRecurrentNode, folder: inout ONNXConstantFolder) -> Bool {
        guard let x = node.node.inputs.first, case .node(let index, _, let scope)? = node.scope.definition(of: x) else { return false }
        let producer = scope.graph.nodes[index]
        guard producer.opType == "Transpose", case .ints([1, 0, 2])? = producer.attribute("perm"),
              let source = producer.inputs.first else { return false }
        return scope.isGraphInput(source)
    }

    /// Gives each module its prefix (see the type's comment).
    static func name(_ modules: inout [Module]) {
        /// torch's scope of a node name: "/encoder/rnn/LSTM" → "encoder.rnn"; nil for a name that is not scoped.
        func torchScope(_ name: String) -> String? {
            guard name.hasPrefix("/") else { return nil }
            return name.split(separator: "/").dropLast().joined(separator: ".")
        }
        func cleaned(_ name: String) -> String {
            name.split(separator: "/").joined(separator: ".").split(separator: ".").joined(separator: ".")
        }
        let byBranch = Dictionary(grouping: modules.indices) { modules[$0].first.scope.path }
        var used: Set<String> = []
        for index in modules.indices {
            let module = modules[index], node = module.first
            let branch = node.scope.path.map(cleaned).joined(separator: ".")
            let alone = byBranch[node.scope.path]!.count == 1
            var prefix: String
            if let scope = torchScope(node.node.name) {
                prefix = branch.isEmpty ? scope : scope.isEmpty ? branch : "\(branch).\(scope)"
            } else if alone && (modules.count == 1 || !branch.isEmpty) {
                prefix = branch
            } else {
                let own = node.node.name.isEmpty ? "\(node.mode.rawValue)\(node.index)" : cleaned(node.node.name)
                prefix = branch.isEmpty ? own : "\(branch).\(own)"
            }
            var candidate = prefix, count = 1
            while used.contains(candidate) {
                count += 1
                candidate = "\(prefix)_\(count)"
            }
            used.insert(candidate)
            modules[index].prefix = candidate
        }
    }

    /// The state_dict of every module, with each module's configuration as metadata under its prefix, the model's
    /// own metadata (`metadata_props`) and where it came from.
    static func convert(_ model: ONNXProto.Model, modules: [Module], data: ONNXTensorData) throws -> StateDict {
        var modules = modules
        var result = StateDict()
        var props: [String: String] = [:]
        for (key, value) in model.metadata { props[key] = value }
        // The toolkit's own exports carry the model's configuration: the module's prefix in the file it came from
        // (so a round trip gives back its names), and bias=false, which makes B zeros by design.
        let ours = model.producerName == "swift-rnn-toolkit"
        if ours, modules.count == 1, let prefix = props["prefix"], modules[0].prefix.isEmpty {
            modules[0].prefix = prefix
        }
        for module in modules {
            let key = { (local: String) in module.prefix.isEmpty ? local : "\(module.prefix).\(local)" }
            let first = module.first
            let dropBias = ours && modules.count == 1 && props["bias"] == "false"
            // An exported cell (RNNCell, LSTMCell, GRUCell) gets its own names back: weight_ih, not weight_ih_l0.
            let cell = ours && modules.count == 1 && props["mode"]?.hasSuffix("_cell") == true
                && module.layers.count == 1 && first.directions == 1 && !first.reverse
            for (layer, node) in module.layers.enumerated() {
                for direction in 0..<node.directions {
                    let suffix = cell ? "" : "_l\(layer)" + (direction == 1 ? "_reverse" : "")
                    for (kind, tensor) in try node.torchTensors(direction: direction) {
                        if dropBias && kind.hasPrefix("bias") { continue }
                        guard result.tensors.updateValue(tensor, forKey: key(kind + suffix)) == nil else {
                            throw TensorFileError(path: data.file.path, problem: .duplicateName(key(kind + suffix)))
                        }
                    }
                }
            }
            result.metadata[key("mode")] = first.mode.rawValue + (cell ? "_cell" : "")
            if first.mode == .rnn { result.metadata[key("nonlinearity")] = first.nonlinearity }
            if first.mode == .gru { result.metadata[key("reset_after")] = first.resetAfter ? "true" : "false" }
            result.metadata[key("input_size")] = "\(first.inputSize)"
            result.metadata[key("hidden_size")] = "\(first.hidden)"
            if !cell { result.metadata[key("num_layers")] = "\(module.layers.count)" }
            result.metadata[key("bias")] = first.b == nil || dropBias ? "false" : "true"
            result.metadata[key("bidirectional")] = first.directions == 2 ? "true" : "false"
            result.metadata[key("batch_first")] = module.batchFirst ? "true" : "false"
            if first.reverse { result.metadata[key("reverse")] = "true" }
            result.metadata[key("onnx_nodes")] = module.layers.map { ($0.scope.path + [$0.displayName]).joined(separator: "/") }.joined(separator: "; ")
        }
        for (key, value) in model.metadata where result.metadata[key] == nil { result.metadata[key] = value }
        if !model.producerName.isEmpty {
            result.metadata["onnx_producer"] = model.producerVersion.isEmpty ? model.producerName : "\(model.producerName) \(model.producerVersion)"
        }
        if let opset = model.standardOpset { result.metadata["onnx_opset"] = "\(opset)" }
        return result
    }
}

extension ONNXFormat: InputFileReading {}

/// What `rnn-inspect` lists of an ONNX model besides the tensors it reads as: the graph's inputs, outputs and
/// initializers, and each recurrent node found with its settings (or why it cannot be read).
package struct ONNXSummary {
    package struct Value {
        package let name: String
        package let type: String
        package let shape: String
    }

    package var producer = ""
    package var opset: Int64?
    package var irVersion: Int64 = 0
    package var inputs: [Value] = []
    package var outputs: [Value] = []
    package var initializers: [Value] = []
    /// One line per recurrent node: where it is, its operator and settings, and the module it belongs to.
    package var recurrentNodes: [String] = []
    /// Why the recurrent nodes could not be read, if they could not.
    package var problem: String?

    /// The summary of `model`, whose recurrent nodes made `modules` (or could not be read).
    init(_ model: ONNXProto.Model, modules: Result<[ONNXFormat.Module], Error>) {
        producer = model.producerVersion.isEmpty ? model.producerName : "\(model.producerName) \(model.producerVersion)"
        opset = model.standardOpset
        irVersion = model.irVersion
        func shape(_ dimensions: [ONNXProto.Dimension]?) -> String {
            guard let dimensions else { return "?" }
            return "[" + dimensions.map { dimension -> String in
                switch dimension {
                case .value(let size): "\(size)"
                case .parameter(let name): name
                case .unknown: "?"
                }
            }.joined(separator: ", ") + "]"
        }
        let initialized = Set(model.graph.initializers.map(\.name))
        // Graph inputs with an initializer of the same name are optional: the initializer is their default.
        inputs = model.graph.inputs.map {
            Value(name: $0.name, type: $0.elementType.name + (initialized.contains($0.name) ? " (optional)" : ""), shape: shape($0.shape))
        }
        outputs = model.graph.outputs.map { Value(name: $0.name, type: $0.elementType.name, shape: shape($0.shape)) }
        initializers = model.graph.initializers.map {
            Value(name: $0.name, type: $0.dataType.name + (isExternal($0) ? " (external)" : ""), shape: "[" + $0.dims.map(String.init).joined(separator: ", ") + "]")
        }
        switch modules {
        case .success(let modules):
            for module in modules {
                for (layer, node) in module.layers.enumerated() {
                    var settings = ["hidden_size \(node.hidden)", "input_size \(node.inputSize)",
                                    node.directions == 2 ? "bidirectional" : node.reverse ? "reverse" : "forward"]
                    if node.mode == .rnn { settings.append(node.nonlinearity) }
                    if node.mode == .gru { settings.append("linear_before_reset \(node.resetAfter ? 1 : 0)") }
                    if node.layoutBatchFirst { settings.append("layout 1") }
                    if node.b == nil { settings.append("no B") }
                    let place = (node.scope.path + [node.displayName]).joined(separator: "/")
                    let module = module.prefix.isEmpty ? "(no prefix)" : module.prefix
                    recurrentNodes.append("\(place): \(node.node.opType) (\(settings.joined(separator: ", "))) → \(module), layer \(layer)")
                }
            }
        case .failure(let error as TensorFileError):
            problem = error.problem.description
        case .failure(let error):
            problem = "\(error)"
        }
    }

    private func isExternal(_ tensor: ONNXProto.Tensor) -> Bool {
        if case .external = tensor.data { return true }
        return false
    }
}
