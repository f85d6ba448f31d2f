import OrderedCollections

/// Keras's recurrent layers read as the PyTorch state_dict they are (`KerasMapping`), so that everything that
/// takes a PyTorch file takes a Keras file too.
///
/// Three kinds of file (`TensorFile` recognises them by content):
/// - the legacy `.h5` of `model.save("m.h5")` (Keras 2, tf.keras, Keras 3): the configuration in the root
///   attribute `model_config`, the weights under `/model_weights/<layer>/…`, in the order of each layer's
///   `weight_names` attribute (a weights-only Keras 2 file has the same layout at the root and no configuration);
/// - the `.weights.h5` of `save_weights` (Keras 3): `/layers/<key>/cell/vars/0, 1, 2` (kernel, recurrent kernel,
///   bias), `…/forward_layer/…` and `…/backward_layer/…` for Bidirectional; `<key>` is the class name made unique,
///   the layer's name is the `name` attribute of `/layers/<key>/vars`; no configuration at all;
/// - the `.keras` zip: `config.json` and that `model.weights.h5` (`KerasFormat`); sharded weights are a
///   `.weights.json` map of `.weights.h5` shards (`KerasFormat`).
///
/// Consecutive recurrent layers of one class and width, each feeding the next (through `Dropout` layers at
/// most), are one module of several layers, as `num_layers` stacks them; other recurrent layers are modules of
/// their own, under their Keras names (one module alone has bare names). Every other layer's weights stay as
/// they are in the file: other tensors, as a state_dict's embeddings are. The module's configuration goes into
/// the metadata (`batch_first` is true: Keras is batch-first), with `<module>.` before each key when there are
/// several modules, and `keras_layers` / `keras_assumed` saying which layers made it and what a `.weights.h5`
/// could not say (the activation, a bias-less GRU's `reset_after`).
///
/// Refused by name: activations other than tanh and relu (SimpleRNN) or tanh and sigmoid (LSTM, GRU), a
/// Bidirectional merge mode other than concat, `stateful`, `go_backwards` outside Bidirectional, `time_major`,
/// masking (a `Masking` layer or `mask_zero`), and Keras's generic `RNN` and CuDNN layers.
enum KerasFile {
    enum Kind: String {
        case legacy = "Keras HDF5", weights = "Keras .weights.h5", archive = "Keras .keras"
    }

    /// One direction's weights, under their names in the file (for errors).
    struct Cell {
        var kernel: (name: String, tensor: Tensor)
        var recurrent: (name: String, tensor: Tensor)
        var bias: (name: String, tensor: Tensor)?
    }

    /// A recurrent layer found in the file; the configuration fields are nil where the file does not say.
    struct Layer {
        var name: String
        var className: String
        var bidirectional: Bool
        var cells: [Cell]
        var units: Int?
        var activation: String?
        var useBias: Bool?
        var resetAfter: Bool?
        var returnSequences: Bool?
        /// The recurrent layer this one takes its input from (through Dropout layers), if any.
        var feeder: String?
        /// The rate of a Dropout layer between the feeder and this layer.
        var dropout: Double?

        var gates: Int { className == "LSTM" ? 4 : className == "GRU" ? 3 : 1 }
        var hidden: Int { cells[0].recurrent.tensor.shape.first ?? 0 }
        var width: Int { hidden * cells.count }

        /// `Bidirectional(LSTM) "name" (units=4, …)`.
        var summary: String {
            let flag = { (value: Bool) in value ? "True" : "False" }
            var parts = ["units=\(hidden)"]
            if let activation { parts.append("activation=\(activation)") }
            if className != "SimpleRNN", activation != nil { parts.append("recurrent_activation=sigmoid") }
            if let useBias { parts.append("use_bias=\(flag(useBias))") }
            if let resetAfter { parts.append("reset_after=\(flag(resetAfter))") }
            if let returnSequences { parts.append("return_sequences=\(flag(returnSequences))") }
            if bidirectional { parts.append("merge_mode=concat") }
            return (bidirectional ? "Bidirectional(\(className))" : className) + " \"\(name)\" (" + parts.joined(separator: ", ") + ")"
        }
    }

    static let recurrentClasses: Set<String> = ["SimpleRNN", "LSTM", "GRU"]
    /// Layers that hold recurrent weights in a way this reader does not map: refused by name.
    static let refusedClasses: Set<String> = ["RNN", "CuDNNLSTM", "CuDNNGRU"]

    // MARK: reading

    /// The PyTorch state_dict of an HDF5 file's contents when it is a Keras file (legacy `.h5` or `.weights.h5`),
    /// else nil. `path` names the file in errors.
    static func convertIfKeras(_ dict: StateDict, path: String) throws -> StateDict? {
        let metadata = dict.metadata
        if metadata["model_config"] != nil || metadata["model_weights@layer_names"] != nil || metadata["@layer_names"] != nil {
            return try convertLegacy(dict, path: path)
        }
        if dict.tensors.keys.contains(where: { $0.hasPrefix("layers.") }), metadata.keys.contains(where: { $0.hasSuffix("vars@name") }) {
            return try convert(weights: dict, config: nil, kind: .weights, path: path)
        }
        return nil
    }

    /// `dict` without the group attributes the HDF5 reader recorded for Keras (`<group>@<attribute>`).
    static func withoutAttributes(_ dict: StateDict) -> StateDict {
        var result = dict
        result.metadata = dict.metadata.filter { !isRecordedAttribute($0.key) }
        return result
    }

    /// True for a metadata key of the form `<group>@layer_names`, `@weight_names0`, `@name`, … (HDF5Reader).
    static func isRecordedAttribute(_ key: String) -> Bool {
        guard let at = key.lastIndex(of: "@") else { return false }
        let attribute = key[key.index(after: at)...]
        let base = attribute.prefix { !$0.isNumber }
        return ["layer_names", "weight_names", "name"].contains(base)
            && attribute.dropFirst(base.count).allSatisfy { $0.isASCII && $0.isNumber }
    }

    static func fail(_ path: String, _ layer: String?, _ detail: String, tensor: String? = nil) -> TensorFileError {
        TensorFileError(path: path, tensor: tensor, problem: .malformed((layer.map { "Keras layer \"\($0)\": " } ?? "") + detail))
    }

    static func refuse(_ path: String, _ layer: String, _ detail: String) -> TensorFileError {
        TensorFileError(path: path, problem: .unsupportedFeature("Keras layer \"\(layer)\": \(detail)"))
    }

    /// The strings of a recorded attribute (a JSON array), joined with its numbered parts (`weight_names0`,
    /// `weight_names1`, … as Keras 2 splits long ones); nil when absent.
    static func strings(_ metadata: StateDict.Metadata, _ key: String, path: String) throws -> [String]? {
        func decode(_ text: String) throws -> [String] {
            guard let items = SafeTensorsJSON.parse(Array(text.utf8))?.items else {
                throw fail(path, nil, "attribute \(key) is not a list of strings")
            }
            return items.compactMap(\.text)
        }
        if let whole = metadata[key] { return try decode(whole) }
        var parts: [String] = []
        var index = 0
        while let part = metadata["\(key)\(index)"] {
            parts += try decode(part)
            index += 1
        }
        return index > 0 ? parts : nil
    }

    /// A legacy `.h5`: `weight_names` give each layer's weights, `model_config` the layers.
    static func convertLegacy(_ dict: StateDict, path: String) throws -> StateDict {
        let root = dict.metadata["model_weights@layer_names"] != nil || dict.tensors.keys.contains { $0.hasPrefix("model_weights.") }
            ? "model_weights" : ""
        let layerNames = try strings(dict.metadata, root + "@layer_names", path: path) ?? []
        var found: [String: [(name: String, tensorName: String, tensor: Tensor)]] = [:]
        for layer in layerNames {
            let group = root.isEmpty ? layer : "\(root).\(layer)"
            var weights: [(String, String, Tensor)] = []
            for weightName in try strings(dict.metadata, group + "@weight_names", path: path) ?? [] {
                let tensorName = group + "." + weightName.split(separator: "/", omittingEmptySubsequences: false).joined(separator: ".")
                guard let tensor = dict.tensors[tensorName] else {
                    throw fail(path, layer, "weight \"\(weightName)\" in weight_names is not in the file")
                }
                weights.append((weightName, tensorName, tensor))
            }
            found[layer] = weights
        }
        let config = try dict.metadata["model_config"].map { text in
            guard let json = SafeTensorsJSON.parse(Array(text.utf8)) else {
                throw fail(path, nil, "model_config is not JSON")
            }
            return try KerasConfig(json, path: path)
        }

        /// One direction's weights out of a layer's list: kernel, recurrent_kernel and bias by their last name.
        func cells(_ layer: String, bidirectional: Bool) throws -> [Cell] {
            let weights = found[layer] ?? []
            func role(_ name: String) -> String {
                let leaf = name.split(separator: "/").last.map(String.init) ?? name
                return leaf.hasSuffix(":0") ? String(leaf.dropLast(2)) : leaf
            }
            func direction(_ name: String) -> Int? {
                for part in name.split(separator: "/") {
                    if part.hasPrefix("forward") { return 0 }
                    if part.hasPrefix("backward") { return 1 }
                }
                return nil
            }
            var result: [Cell] = []
            for index in 0..<(bidirectional ? 2 : 1) {
                let mine = weights.enumerated().filter { position, weight in
                    guard bidirectional else { return true }
                    return (direction(weight.name) ?? (position < weights.count / 2 ? 0 : 1)) == index
                }.map(\.element)
                func pick(_ wanted: String) -> (name: String, tensor: Tensor)? {
                    mine.first { role($0.name) == wanted }.map { ($0.tensorName, $0.tensor) }
                }
                guard let kernel = pick("kernel"), let recurrent = pick("recurrent_kernel") else {
                    throw fail(path, layer, "no kernel and recurrent_kernel among its weights \(mine.map(\.name))")
                }
                if let extra = mine.first(where: { !["kernel", "recurrent_kernel", "bias"].contains(role($0.name)) }) {
                    throw fail(path, layer, "unexpected weight \"\(extra.name)\"")
                }
                result.append(Cell(kernel: kernel, recurrent: recurrent, bias: pick("bias")))
            }
            return result
        }

        var layers: [Layer] = []
        if let config {
            try checkMasking(config, path: path)
            for entry in config.layers {
                guard var layer = try configured(entry, in: config, path: path) else { continue }
                guard found[entry.name] != nil else { throw fail(path, entry.name, "its weights are not in the file") }
                layer.cells = try cells(entry.name, bidirectional: layer.bidirectional)
                layers.append(layer)
            }
        } else {
            // A weights-only file: the layers in order, their class from the weights' shapes.
            var previous: String?
            for name in layerNames {
                let weights = found[name] ?? []
                guard weights.contains(where: { $0.name.hasSuffix("recurrent_kernel") || $0.name.hasSuffix("recurrent_kernel:0") }) else {
                    previous = nil
                    continue
                }
                let bidirectional = weights.contains { $0.name.contains("backward") }
                let layerCells = try cells(name, bidirectional: bidirectional)
                layers.append(try inferred(name: name, cells: layerCells, bidirectional: bidirectional, feeder: previous, path: path))
                previous = name
            }
        }
        let consumed = Set(layers.flatMap { $0.cells.flatMap { [$0.kernel.name, $0.recurrent.name] + ($0.bias.map { [$0.name] } ?? []) } })
        var global: StateDict.Metadata = ["keras_file": Kind.legacy.rawValue]
        for key in ["keras_version", "backend"] { if let value = dict.metadata[key] { global[key] = value } }
        return try assemble(layers, configured: config != nil, kind: .legacy, others: dict, consumed: consumed, global: global, path: path)
    }

    /// A `.weights.h5` (alone, or inside a `.keras` with its `config`): `/layers/<key>/…/vars/N`.
    static func convert(weights dict: StateDict, config: KerasConfig?, kind: Kind, global: StateDict.Metadata = [:],
                        path: String) throws -> StateDict {
        var keys: [String] = []
        for name in dict.tensors.keys where name.hasPrefix("layers.") {
            let key = String(name.dropFirst(7).prefix { $0 != "." })
            if !keys.contains(key) { keys.append(key) }
        }
        // Keras numbers repeated classes lstm, lstm_1, lstm_2, …, in the order the model has them; HDF5 lists
        // groups by name (lstm_10 before lstm_2).
        func order(_ key: String) -> (String, Int) {
            guard let underscore = key.lastIndex(of: "_"), let number = Int(key[key.index(after: underscore)...]) else { return (key, 0) }
            return (String(key[..<underscore]), number + 1)
        }
        keys.sort { order($0) < order($1) }
        var layerName: [String: String] = [:]
        for key in keys { layerName[key] = try strings(dict.metadata, "layers.\(key).vars@name", path: path)?.first ?? key }

        func cell(_ group: String, layer: String) throws -> Cell? {
            guard let kernel = dict.tensors[group + ".vars.0"] else { return nil }
            guard let recurrent = dict.tensors[group + ".vars.1"] else {
                throw fail(path, layer, "\(group).vars holds a kernel but no recurrent kernel (vars/1)")
            }
            if dict.tensors[group + ".vars.3"] != nil { throw fail(path, layer, "\(group).vars holds more than 3 weights") }
            return Cell(kernel: (group + ".vars.0", kernel), recurrent: (group + ".vars.1", recurrent),
                        bias: dict.tensors[group + ".vars.2"].map { (group + ".vars.2", $0) })
        }
        func cells(_ key: String) throws -> (cells: [Cell], bidirectional: Bool)? {
            let layer = layerName[key] ?? key
            if let forward = try cell("layers.\(key).forward_layer.cell", layer: layer) {
                guard let backward = try cell("layers.\(key).backward_layer.cell", layer: layer) else {
                    throw fail(path, layer, "a forward layer without a backward layer")
                }
                return ([forward, backward], true)
            }
            return try cell("layers.\(key).cell", layer: layer).map { ([$0], false) }
        }

        var layers: [Layer] = []
        if let config {
            try checkMasking(config, path: path)
            for entry in config.layers {
                guard var layer = try configured(entry, in: config, path: path) else { continue }
                guard let key = keys.first(where: { layerName[$0] == entry.name }), let found = try cells(key) else {
                    throw fail(path, entry.name, "its weights are not in the file")
                }
                guard found.bidirectional == layer.bidirectional else {
                    throw fail(path, entry.name, "the configuration and the weights disagree on Bidirectional")
                }
                layer.cells = found.cells
                layers.append(layer)
            }
        } else {
            var previous: String?
            for key in keys {
                guard let found = try cells(key) else { previous = nil; continue }
                let name = layerName[key] ?? key
                layers.append(try inferred(name: name, cells: found.cells, bidirectional: found.bidirectional, feeder: previous, path: path))
                previous = name
            }
        }
        let consumed = Set(layers.flatMap { $0.cells.flatMap { [$0.kernel.name, $0.recurrent.name] + ($0.bias.map { [$0.name] } ?? []) } })
        var metadata = global
        metadata["keras_file"] = kind.rawValue
        return try assemble(layers, configured: config != nil, kind: kind, others: dict, consumed: consumed, global: metadata, path: path)
    }

    /// A recurrent layer from its weights alone: the class from the gate count (kernel columns / units).
    static func inferred(name: String, cells: [Cell], bidirectional: Bool, feeder: String?, path: String) throws -> Layer {
        let kernel = cells[0].kernel.tensor.shape, recurrent = cells[0].recurrent.tensor.shape
        guard kernel.count == 2, recurrent.count == 2, recurrent[0] > 0, recurrent[1] % recurrent[0] == 0,
              let className = [1: "SimpleRNN", 4: "LSTM", 3: "GRU"][recurrent[1] / recurrent[0]]
        else {
            throw fail(path, name, "kernel \(kernel) and recurrent kernel \(recurrent) are no SimpleRNN, LSTM or GRU")
        }
        return Layer(name: name, className: className, bidirectional: bidirectional, cells: cells, feeder: feeder)
    }

    /// Masking changes which steps run; nothing here would apply it.
    static func checkMasking(_ config: KerasConfig, path: String) throws {
        for layer in config.layers where layer.className == "Masking" || layer.config["mask_zero"]?.boolean == true {
            throw refuse(path, layer.name, "masking (\(layer.className == "Masking" ? "a Masking layer" : "mask_zero=True")) is not supported: it changes which steps run")
        }
    }

    /// The recurrent layer `entry` configures (nil for any other layer), its configuration checked.
    static func configured(_ entry: KerasConfig.Layer, in config: KerasConfig, path: String) throws -> Layer? {
        var className = entry.className, settings = entry.config, bidirectional = false
        let name = entry.name
        if className == "Bidirectional" {
            guard let inner = settings["layer"], let innerClass = inner["class_name"]?.text, let innerSettings = inner["config"] else {
                throw fail(path, name, "Bidirectional without the layer it wraps")
            }
            let merge = settings["merge_mode"]
            guard merge == nil || merge?.text == "concat" else {
                throw refuse(path, name, "merge_mode \(merge?.text.map { "\"\($0)\"" } ?? "None") is not supported (only \"concat\")")
            }
            if let backward = settings["backward_layer"], case .object = backward {
                guard backward["class_name"]?.text == innerClass, backward["config"]?["units"]?.integer == innerSettings["units"]?.integer else {
                    throw refuse(path, name, "a backward_layer that differs from the forward layer is not supported")
                }
            }
            className = innerClass
            settings = innerSettings
            bidirectional = true
        }
        if refusedClasses.contains(className) {
            throw refuse(path, name, "class \(className) is not supported (only SimpleRNN, LSTM, GRU and Bidirectional of them)")
        }
        guard recurrentClasses.contains(className) else {
            if bidirectional { throw refuse(path, name, "Bidirectional(\(className)) is not supported") }
            return nil
        }
        for flag in ["stateful", "time_major"] where settings[flag]?.boolean == true {
            throw refuse(path, name, "\(flag)=True is not supported")
        }
        if !bidirectional, settings["go_backwards"]?.boolean == true {
            throw refuse(path, name, "go_backwards=True is not supported (it reads the sequence backwards and returns it reversed)")
        }
        func activation(_ key: String, default value: String) -> String {
            guard let setting = settings[key] else { return value }
            return setting.text ?? setting["config"]?.text ?? setting["class_name"]?.text ?? "?"
        }
        let main = activation("activation", default: "tanh")
        if className == "SimpleRNN" {
            guard main == "tanh" || main == "relu" else {
                throw refuse(path, name, "activation \"\(main)\" is not supported (SimpleRNN: tanh or relu)")
            }
        } else {
            let recurrentActivation = activation("recurrent_activation", default: "sigmoid")
            guard main == "tanh", recurrentActivation == "sigmoid" else {
                throw refuse(path, name, "activation \"\(main)\" with recurrent_activation \"\(recurrentActivation)\" is not supported (\(className): tanh and sigmoid; hard_sigmoid differs between Keras 2 and 3)")
            }
        }
        guard let units = settings["units"]?.integer, units > 0 else { throw fail(path, name, "no positive units in its configuration") }

        // The recurrent layer feeding this one, through Dropout layers (whose rate is PyTorch's dropout).
        let byName = Dictionary(config.layers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var feeder = entry.inbound.count == 1 ? entry.inbound[0] : nil
        var dropout: Double?
        var hops = 0
        while let current = feeder, let layer = byName[current], layer.className == "Dropout", layer.inbound.count == 1, hops < 16 {
            if case .number(let text)? = layer.config["rate"] { dropout = Double(text) }
            feeder = layer.inbound[0]
            hops += 1
        }
        if let current = feeder, let layer = byName[current] {
            let inner = layer.className == "Bidirectional" ? layer.config["layer"]?["class_name"]?.text : layer.className
            if !(inner.map(recurrentClasses.contains) ?? false) { feeder = nil }
        } else {
            feeder = nil
        }
        return Layer(name: name, className: className, bidirectional: bidirectional, cells: [], units: units, activation: main,
                     useBias: settings["use_bias"]?.boolean ?? true,
                     resetAfter: className == "GRU" ? settings["reset_after"]?.boolean : nil,
                     returnSequences: settings["return_sequences"]?.boolean ?? false, feeder: feeder, dropout: dropout)
    }

    // MARK: the PyTorch state_dict

    /// Groups the layers into modules, checks every shape, and writes each module's tensors under PyTorch's names
    /// with its configuration as metadata; the tensors of other layers follow under their own names.
    static func assemble(_ layers: [Layer], configured: Bool, kind: Kind, others: StateDict, consumed: Set<String>,
                         global: StateDict.Metadata, path: String) throws -> StateDict {
        // Modules: a layer joins the one before it when it takes that layer's output sequence and matches it.
        var modules: [[Layer]] = []
        for layer in layers {
            try check(layer, path: path)
            if let last = modules.last?.last, layer.feeder == last.name, layer.className == last.className,
               layer.hidden == last.hidden, layer.bidirectional == last.bidirectional, layer.activation == last.activation,
               (layer.cells[0].bias == nil) == (last.cells[0].bias == nil), resetAfter(of: layer) == resetAfter(of: last),
               last.returnSequences != false, layer.cells[0].kernel.tensor.shape[0] == last.width
            {
                modules[modules.count - 1].append(layer)
            } else {
                modules.append([layer])
            }
        }
        var result = StateDict()
        result.metadata = global
        for module in modules {
            let prefix = modules.count == 1 ? "" : module[0].name
            let name = { (local: String) in prefix.isEmpty ? local : "\(prefix).\(local)" }
            let first = module[0], gates = first.gates
            for (index, layer) in module.enumerated() {
                for (direction, cell) in layer.cells.enumerated() {
                    let suffix = "_l\(index)" + (direction == 1 ? "_reverse" : "")
                    result.tensors[name("weight_ih" + suffix)] = try KerasMapping.transposed(cell.kernel.tensor, gates: gates, rowsAreGates: false)
                    result.tensors[name("weight_hh" + suffix)] = try KerasMapping.transposed(cell.recurrent.tensor, gates: gates, rowsAreGates: false)
                    if let bias = cell.bias {
                        let (ih, hh) = try KerasMapping.torchBiases(bias.tensor, gates: gates)
                        result.tensors[name("bias_ih" + suffix)] = ih
                        result.tensors[name("bias_hh" + suffix)] = hh
                    }
                }
            }
            let key = { (local: String) in prefix.isEmpty ? local : "\(prefix).\(local)" }
            var assumed: [String] = []
            result.metadata[key("mode")] = ["SimpleRNN": "rnn", "LSTM": "lstm", "GRU": "gru"][first.className]
            if first.className == "SimpleRNN" {
                if let activation = first.activation {
                    result.metadata[key("nonlinearity")] = activation
                } else {
                    assumed.append("activation tanh (Keras's default; the file does not say: --nonlinearity relu if it was relu)")
                }
            }
            if first.className == "GRU" {
                if let resetAfter = resetAfter(of: first) {
                    result.metadata[key("reset_after")] = resetAfter ? "true" : "false"
                } else {
                    assumed.append("reset_after=True (Keras 3's default; a GRU without bias does not show it: --reset-after false if it was False)")
                }
            }
            result.metadata[key("input_size")] = "\(first.cells[0].kernel.tensor.shape[0])"
            result.metadata[key("hidden_size")] = "\(first.hidden)"
            result.metadata[key("num_layers")] = "\(module.count)"
            result.metadata[key("bias")] = first.cells[0].bias == nil ? "false" : "true"
            result.metadata[key("bidirectional")] = first.bidirectional ? "true" : "false"
            result.metadata[key("batch_first")] = "true"
            if let dropout = module.dropFirst().compactMap(\.dropout).first { result.metadata[key("dropout")] = "\(dropout)" }
            result.metadata[key("keras_layers")] = module.map(\.summary).joined(separator: "; ")
            if !configured {
                if first.bidirectional { assumed.append("merge_mode concat") }
                if module.count > 1 { assumed.append("layers \(module.map(\.name).joined(separator: ", ")) stacked, by their order and shapes") }
            }
            if !assumed.isEmpty { result.metadata[key("keras_assumed")] = assumed.joined(separator: "; ") }
        }
        for (name, tensor) in others.tensors where !consumed.contains(name) {
            guard result.tensors.updateValue(tensor, forKey: name) == nil else {
                throw TensorFileError(path: path, problem: .duplicateName(name))
            }
        }
        return result
    }

    /// A GRU's reset_after: the configuration's, else what the bias shape shows (two rows: True), else nil.
    static func resetAfter(of layer: Layer) -> Bool? {
        guard layer.className == "GRU" else { return nil }
        return layer.resetAfter ?? layer.cells[0].bias.map { $0.tensor.shape.count == 2 }
    }

    /// Every weight of `layer` has the shape its class and units give, and the configuration agrees with them.
    static func check(_ layer: Layer, path: String) throws {
        let gates = layer.gates, hidden = layer.hidden, name = layer.name
        let dtype = layer.cells[0].kernel.tensor.dtype
        for cell in layer.cells {
            for (weightName, tensor) in [cell.kernel, cell.recurrent] + (cell.bias.map { [$0] } ?? []) {
                guard tensor.dtype.isFloatingPoint else {
                    throw fail(path, name, "\(tensor.dtype) weights (floating-point expected)", tensor: weightName)
                }
                guard tensor.dtype == dtype else { throw fail(path, name, "weights of mixed dtypes", tensor: weightName) }
            }
            let kernel = cell.kernel.tensor.shape, recurrent = cell.recurrent.tensor.shape
            guard recurrent.count == 2, hidden > 0, recurrent == [hidden, gates * hidden] else {
                throw fail(path, name, "recurrent kernel has shape \(recurrent), expected [\(hidden), \(gates * max(hidden, 0))] for \(layer.className)", tensor: cell.recurrent.name)
            }
            guard kernel.count == 2, kernel[1] == gates * hidden, kernel[0] > 0 else {
                throw fail(path, name, "kernel has shape \(kernel), expected [input size, \(gates * hidden)]", tensor: cell.kernel.name)
            }
            guard kernel[0] == layer.cells[0].kernel.tensor.shape[0] else {
                throw fail(path, name, "its two directions take inputs of different sizes", tensor: cell.kernel.name)
            }
            if let bias = cell.bias {
                let shape = bias.tensor.shape
                let twoRows = layer.className == "GRU" && resetAfter(of: layer) == true
                let expected = twoRows ? [2, gates * hidden] : [gates * hidden]
                guard shape == expected else {
                    throw fail(path, name, "bias has shape \(shape), expected \(expected)" + (layer.className == "GRU" ? " (reset_after=\(twoRows ? "True" : "False"))" : ""), tensor: bias.name)
                }
            }
        }
        if let units = layer.units, units != hidden {
            throw fail(path, name, "the configuration says units=\(units) but the recurrent kernel holds \(hidden)", tensor: layer.cells[0].recurrent.name)
        }
        if let useBias = layer.useBias, useBias != (layer.cells[0].bias != nil) {
            throw fail(path, name, "the configuration says use_bias=\(useBias ? "True" : "False") but the weights \(useBias ? "have no" : "have a") bias")
        }
    }
}
