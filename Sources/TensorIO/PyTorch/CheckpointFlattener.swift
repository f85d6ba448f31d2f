/// Names the tensors of an unpickled checkpoint by their path through its containers, joined with dots.
///
/// Rules (the same `tools/make_checkpoint_fixtures.py` uses for `expected.json`):
/// - a dict (or OrderedDict) contributes its keys: strings as they are, integers in decimal (an optimizer's
///   `state` is keyed by parameter index: `optimizer.state.0.exp_avg`), bools as `True`/`False`;
/// - a list or tuple contributes each item's index: `layers.0`, `layers.1.bias`;
/// - a tensor ends the path; anything else (numbers, strings, None, `torch.Size`) holds no tensor and is left
///   out, as are containers that hold none;
/// - a TorchScript module (`PickleObject`) contributes its attributes that are tensors (its parameters and
///   buffers) and its submodules, as `module.state_dict()` names them; its other attributes, lists of tensors
///   such as an RNN's `_flat_weights` included, are left out. A `torch.nn` RNN module's constructor arguments
///   (`batch_first`, `nonlinearity`, …) become metadata under its name, and those torch.jit keeps in the
///   module's code instead (`batch_first`, an RNN's `nonlinearity`) are named in `torchscript_assumed`;
/// - a checkpoint that is a single tensor gives one tensor named `bareTensorName` (the file's name, as for NPY).
///
/// A tensor under a dict key that is not a string, integer or bool (a float, a tuple) has no name: that is an
/// `unsupportedFeature` error. Containers nested deeper than `maximumDepth`, or shared so that the walk would
/// visit more than `maximumVisits` values (a pickle can nest one list in another 60 times, twice each, and
/// describe 2⁶⁰ paths in a few hundred bytes), are `tooLarge` errors, as are overlong names.
struct CheckpointFlattener {
    /// The deepest nesting of containers followed.
    static let maximumDepth = 1000
    /// The most values the walk visits.
    static let maximumVisits = 1 << 24
    /// The longest tensor name, in UTF-8 bytes.
    static let maximumNameLength = 1 << 16
    /// The most bytes of names (of tensors and of the containers above them) the walk may build.
    static let maximumTotalNameBytes = 1 << 28

    let path: String
    private var visits = 0
    private var nameBytes = 0
    private var result: [(name: String, tensor: TensorReference)] = []
    private var metadata: [(key: String, value: String)] = []

    private enum Prefix {
        case root
        case name(String)
        /// Below a dict key that cannot be a name part; the key's Python type.
        case unnamed(String)
    }

    /// The tensors of `root` with their names, in the order the checkpoint holds them, and the metadata of the
    /// TorchScript RNN modules met on the way (keys under each module's name).
    static func flatten(_ root: PickleValue, bareTensorName: String, path: String) throws
        -> (tensors: [(name: String, tensor: TensorReference)], metadata: [(key: String, value: String)]) {
        if case .tensor(let tensor) = root { return ([(bareTensorName, tensor)], []) }
        var flattener = CheckpointFlattener(path: path)
        try flattener.visit(root, prefix: .root, depth: 0)
        return (flattener.result, flattener.metadata)
    }

    private init(path: String) { self.path = path }

    /// The constructor arguments of torch.nn's recurrent modules, as a TorchScript module keeps them.
    private static let recurrentArguments = [
        "mode", "nonlinearity", "input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout",
        "bidirectional", "proj_size",
    ]

    private mutating func recordConfiguration(of object: PickleObject, under name: String) {
        let parts = object.className.split(separator: ".")
        guard parts.count >= 2, parts.dropLast().joined(separator: ".").hasSuffix("torch.nn.modules.rnn"),
              ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"].contains(String(parts.last!)),
              let attributes = object.attributes else { return }
        let named = { (attribute: String) in name.isEmpty ? attribute : "\(name).\(attribute)" }
        // torch.jit keeps these constants in the module's code, not in data.pkl: say what the loader assumes.
        let kind = String(parts.last!)
        let recorded = Set(attributes.entries.compactMap { if case .string(let text) = $0.key { text } else { nil } })
        var assumed: [String] = []
        if !kind.hasSuffix("Cell") && !recorded.contains("batch_first") { assumed.append("batch_first=False") }
        if kind.hasPrefix("RNN") && !recorded.contains("nonlinearity") { assumed.append("nonlinearity=tanh") }
        if !assumed.isEmpty {
            metadata.append((named("torchscript_assumed"), assumed.joined(separator: ", ")
                + " (a TorchScript archive keeps them in its code, which is not read: say --batch-first or --nonlinearity relu if the module had them)"))
        }
        for (key, value) in attributes.entries {
            guard case .string(let attribute) = key, Self.recurrentArguments.contains(attribute) else { continue }
            let text: String? = switch value {
            case .bool(let flag): flag ? "true" : "false"
            case .int(let number): String(number)
            case .float(let number): String(number)
            case .string(let string): string
            default: nil
            }
            // A cell's "mode" is not torch's; the loader tells cells apart by their tensor names.
            guard let text, !(attribute == "mode" && parts.last!.hasSuffix("Cell")) else { continue }
            metadata.append((named(attribute), text))
        }
    }

    private mutating func visit(_ value: PickleValue, prefix: Prefix, depth: Int) throws {
        visits += 1
        guard visits <= Self.maximumVisits else {
            throw TensorFileError(path: path, problem: .tooLarge(
                "the checkpoint's containers are shared so much that naming its tensors visits more than \(Self.maximumVisits) values"))
        }
        guard depth <= Self.maximumDepth else {
            throw TensorFileError(path: path, problem: .tooLarge("the checkpoint nests containers more than \(Self.maximumDepth) deep"))
        }
        switch value {
        case .tensor(let tensor):
            switch prefix {
            case .name(let name): result.append((name, tensor))
            case .unnamed(let keyType):
                throw TensorFileError(path: path, problem: .unsupportedFeature(
                    "a tensor under a dict key of type \(keyType) (only string and integer keys make tensor names)"))
            case .root: break  // handled by flatten(_:bareTensorName:path:)
            }
        case .dict(let dict):
            for (key, item) in dict.entries {
                let part: String? = switch key {
                case .string(let text): text
                case .int(let number): String(number)
                case .bool(let flag): flag ? "True" : "False"
                default: nil
                }
                try visitItem(item, prefix: prefix, part: part, keyType: key.typeName, depth: depth)
            }
        case .list(let list):
            for (index, item) in list.items.enumerated() {
                try visitItem(item, prefix: prefix, part: String(index), keyType: "int", depth: depth)
            }
        case .tuple(let tuple):
            for (index, item) in tuple.items.enumerated() {
                try visitItem(item, prefix: prefix, part: String(index), keyType: "int", depth: depth)
            }
        case .object(let object):
            switch prefix {
            case .root: recordConfiguration(of: object, under: "")
            case .name(let name): recordConfiguration(of: object, under: name)
            case .unnamed: break
            }
            for (key, item) in object.attributes?.entries ?? [] {
                guard case .string(let attribute) = key else { continue }
                switch item {
                case .tensor, .object: try visitItem(item, prefix: prefix, part: attribute, keyType: "str", depth: depth)
                default: visits += 1  // plain values and containers of a module are not in its state_dict
                }
            }
        default:
            break
        }
    }

    /// Visits a container's item; the item's name is built only when it may hold a tensor, so that a long
    /// list of numbers costs no strings.
    private mutating func visitItem(_ item: PickleValue, prefix: Prefix, part: String?, keyType: String, depth: Int) throws {
        switch item {
        case .tensor, .dict, .list, .tuple, .object:
            try visit(item, prefix: try extend(prefix, part, keyType: keyType), depth: depth + 1)
        default:
            visits += 1
        }
    }

    private mutating func extend(_ prefix: Prefix, _ part: String?, keyType: String) throws -> Prefix {
        guard let part else {
            if case .unnamed = prefix { return prefix }
            return .unnamed(keyType)
        }
        let name: String
        switch prefix {
        case .root: name = part
        case .unnamed: return prefix
        case .name(let parent): name = parent + "." + part
        }
        guard name.utf8.count <= Self.maximumNameLength else {
            throw TensorFileError(path: path, problem: .tooLarge("a tensor name is longer than \(Self.maximumNameLength) bytes"))
        }
        nameBytes += name.utf8.count
        guard nameBytes <= Self.maximumTotalNameBytes else {
            throw TensorFileError(path: path, problem: .tooLarge("naming the tensors takes more than \(Self.maximumTotalNameBytes) bytes"))
        }
        return .name(name)
    }
}
