/// Names the tensors of an unpickled checkpoint by their path through its containers, joined with dots.
///
/// Rules (the same `tools/make_checkpoint_fixtures.py` uses for `expected.json`):
/// - a dict (or OrderedDict) contributes its keys: strings as they are, integers in decimal (an optimizer's
///   `state` is keyed by parameter index: `optimizer.state.0.exp_avg`), bools as `True`/`False`;
/// - a list or tuple contributes each item's index: `layers.0`, `layers.1.bias`;
/// - a tensor ends the path; anything else (numbers, strings, None, `torch.Size`) holds no tensor and is left
///   out, as are containers that hold none;
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

    private enum Prefix {
        case root
        case name(String)
        /// Below a dict key that cannot be a name part; the key's Python type.
        case unnamed(String)
    }

    /// The tensors of `root` with their names, in the order the checkpoint holds them.
    static func flatten(_ root: PickleValue, bareTensorName: String, path: String) throws -> [(name: String, tensor: TensorReference)] {
        if case .tensor(let tensor) = root { return [(bareTensorName, tensor)] }
        var flattener = CheckpointFlattener(path: path)
        try flattener.visit(root, prefix: .root, depth: 0)
        return flattener.result
    }

    private init(path: String) { self.path = path }

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
        default:
            break
        }
    }

    /// Visits a container's item; the item's name is built only when it may hold a tensor, so that a long
    /// list of numbers costs no strings.
    private mutating func visitItem(_ item: PickleValue, prefix: Prefix, part: String?, keyType: String, depth: Int) throws {
        switch item {
        case .tensor, .dict, .list, .tuple:
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
