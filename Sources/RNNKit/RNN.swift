import Foundation
import OrderedCollections

/// A `torch.nn.RNN`, `torch.nn.LSTM` or `torch.nn.GRU` (or one of their cells) loaded from its state_dict,
/// computing what PyTorch computes. The mode is inferred from the weights' shapes.
///
/// ```swift
/// let rnn = try RNN(contentsOf: URL(fileURLWithPath: "model.npz"))
/// let result = try rnn.forward(input)          // input: Tensor [T, B, I] (or [T, I] unbatched)
/// let output = try result.output.floatValues()  // [T, B, D·H]
/// ```
public struct RNN: Sendable {
    /// The module's configuration, inferred from the tensors and completed from metadata and options.
    public let configuration: RNNConfiguration
    /// Where the module sat in the state_dict (`encoder.rnn`; empty for bare keys).
    public let prefix: String
    /// The dtype the weights were stored in.
    public let dtype: DType
    /// The precision `forward` computes in.
    public let precision: Precision
    /// True when loaded from a cell's tensors (`weight_ih` without a layer suffix: RNNCell, LSTMCell, GRUCell).
    public let isCell: Bool
    /// The module's tensors under their PyTorch names (without prefix), in PyTorch's order.
    public let tensors: OrderedDictionary<String, Tensor>

    /// The weights packed for the forward pass in the compute precision, on the first forward (see
    /// `LazyPackedWeights`): loading to convert or inspect keeps only `tensors`.
    let packedWeights: LazyPackedWeights
    /// Threads for the forward pass, kept between calls and shared by the copies of this model (never by other
    /// models: nothing of the forward pass is process-wide).
    let teams = ThreadTeams()

    /// Loads the RNN in the file at `url` (any format `TensorFile` reads).
    public init(contentsOf url: URL, options: RNNLoadOptions = RNNLoadOptions()) throws {
        try self.init(stateDict: TensorFile.read(contentsOf: url), options: options)
    }

    /// Loads the RNN in a file's bytes held in memory: a model bundled with an app or downloaded, in any format
    /// `TensorFile` reads (see `TensorFile.read(_:name:isolatingHDF5:)`); `name` stands for the file in errors.
    public init(data: Data, name: String = "bytes", options: RNNLoadOptions = RNNLoadOptions()) throws {
        try self.init(stateDict: TensorFile.read(data, name: name), options: options)
    }

    /// Finds, checks and loads the RNN module in `stateDict`; throws `RNNLoadError` naming what is wrong.
    public init(stateDict: StateDict, options: RNNLoadOptions = RNNLoadOptions()) throws {
        let found = RNNModuleFinder.prefixes(in: stateDict.names)
        let metadataPrefix = stateDict.metadata["prefix"]
        let prefix: String
        if let wanted = options.prefix.map({ $0.hasSuffix(".") ? String($0.dropLast()) : $0 }) {
            guard found.contains(wanted) else { throw RNNLoadError.prefixNotFound(prefix: wanted, available: found) }
            prefix = wanted
        } else if found.count == 1 {
            prefix = found[0]
        } else if found.isEmpty {
            throw RNNLoadError.noRNN
        } else if let metadataPrefix, found.contains(metadataPrefix) {
            prefix = metadataPrefix
        } else {
            throw RNNLoadError.ambiguous(prefixes: found)
        }
        let fullName = { (local: String) in prefix.isEmpty ? local : "\(prefix).\(local)" }

        // The module's tensors, by local name; anything under the prefix that is not an RNN tensor is an error.
        var local: [String: (RNNModuleFinder.ParsedName, Tensor)] = [:]
        for (name, tensor) in stateDict.tensors {
            let (namePrefix, localName) = RNNModuleFinder.split(name)
            guard namePrefix == prefix else { continue }
            guard let parsed = RNNModuleFinder.parse(localName) else {
                if prefix.isEmpty { continue }  // bare keys live beside unrelated top-level tensors
                throw RNNLoadError.unexpectedTensor(name: name)
            }
            local[localName] = (parsed, tensor)
        }
        let isCell = local["weight_ih"] != nil
        if let mixed = local.first(where: { ($0.value.0.layer == nil) != isCell }) {
            throw RNNLoadError.unexpectedTensor(name: fullName(mixed.key))
        }
        let layerNumbers = Set(local.values.compactMap { $0.0.layer }).sorted()
        if !isCell, layerNumbers != Array(0..<layerNumbers.count) {
            throw RNNLoadError.layerGap(prefix: prefix, found: layerNumbers)
        }
        let suffix = { (layer: Int, reverse: Bool) in isCell ? "" : "_l\(layer)" + (reverse ? "_reverse" : "") }

        // Shapes: weight_hh_l0 gives the gate count and hidden size (weight_hr_l0 the projection);
        // weight_ih_l0 the input size; everything else must agree.
        let firstName = "weight_ih" + suffix(0, false)
        let recurrentName = "weight_hh" + suffix(0, false)
        guard let first = local[firstName]?.1 else { throw RNNLoadError.missingTensor(name: fullName(firstName)) }
        guard let recurrent = local[recurrentName]?.1 else { throw RNNLoadError.missingTensor(name: fullName(recurrentName)) }
        for (name, tensor) in [(firstName, first), (recurrentName, recurrent)] where tensor.shape.count != 2 {
            throw RNNLoadError.wrongRank(name: fullName(name), expected: 2, found: tensor.shape.count)
        }
        let projection = local["weight_hr" + suffix(0, false)]?.1
        var projSize = 0
        var hidden = recurrent.shape[1]
        if let projection {
            // weight_hr exists only in an LSTM with projections: weight_hh is then [4·H, P].
            guard recurrent.shape[0] % 4 == 0, recurrent.shape[0] / 4 == projection.shape.last, projection.shape.first == recurrent.shape[1] else {
                throw RNNLoadError.unexpectedTensor(name: fullName("weight_hr" + suffix(0, false)))
            }
            guard projection.shape.count == 2 else {
                throw RNNLoadError.wrongRank(name: fullName("weight_hr" + suffix(0, false)), expected: 2, found: projection.shape.count)
            }
            projSize = projection.shape[0]
            hidden = projection.shape[1]
        }
        guard hidden > 0, first.shape[0] % hidden == 0, let mode = RecurrentMode(gateCount: first.shape[0] / hidden),
              projection == nil || mode == .lstm
        else {
            throw RNNLoadError.wrongShape(name: fullName(firstName), expected: [4 * hidden, first.shape[1]], found: first.shape)
        }
        let inputSize = first.shape[1]
        let bidirectional = local.values.contains { $0.0.reverse }
        let bias = local.values.contains { $0.0.kind == .biasIH || $0.0.kind == .biasHH }
        let layers = isCell ? 1 : layerNumbers.count
        let dtype = first.dtype
        guard dtype.isFloatingPoint else { throw RNNLoadError.notFloat(name: fullName(firstName), dtype: dtype) }

        var metadata = metadataPrefix == nil || metadataPrefix == prefix ? stateDict.metadata : [:]
        // A file of several modules may configure each under its prefix (`encoder.mode`: Keras files do).
        if !prefix.isEmpty {
            for (key, value) in stateDict.metadata where key.hasPrefix(prefix + ".") { metadata[String(key.dropFirst(prefix.count + 1))] = value }
        }
        var configuration = RNNConfiguration(
            mode: mode, inputSize: inputSize, hiddenSize: hidden, numLayers: layers, bidirectional: bidirectional,
            bias: bias, projSize: projSize)
        try Self.apply(metadata, options: options, to: &configuration)

        let gates = mode.gateCount * hidden
        var ordered = OrderedDictionary<String, Tensor>()
        for layer in 0..<layers {
            for reverse in bidirectional ? [false, true] : [false] {
                var expected: [(String, [Int])] = [
                    ("weight_ih", [gates, configuration.layerInputSize(layer)]),
                    ("weight_hh", [gates, configuration.outputSize]),
                ]
                if bias { expected += [("bias_ih", [gates]), ("bias_hh", [gates])] }
                if projSize > 0 { expected.append(("weight_hr", [projSize, hidden])) }
                for (kind, shape) in expected {
                    let name = kind + suffix(layer, reverse)
                    guard let tensor = local[name]?.1 else { throw RNNLoadError.missingTensor(name: fullName(name)) }
                    guard tensor.shape.count == shape.count else {
                        throw RNNLoadError.wrongRank(name: fullName(name), expected: shape.count, found: tensor.shape.count)
                    }
                    guard tensor.shape == shape else { throw RNNLoadError.wrongShape(name: fullName(name), expected: shape, found: tensor.shape) }
                    guard tensor.dtype.isFloatingPoint else { throw RNNLoadError.notFloat(name: fullName(name), dtype: tensor.dtype) }
                    guard tensor.dtype == dtype else { throw RNNLoadError.mixedDTypes(name: fullName(name), expected: dtype, found: tensor.dtype) }
                    ordered[name] = tensor
                }
            }
        }
        if let extra = local.keys.sorted().first(where: { ordered[$0] == nil }) {
            throw RNNLoadError.unexpectedTensor(name: fullName(extra))
        }

        self.configuration = configuration
        self.prefix = prefix
        self.dtype = dtype
        self.isCell = isCell
        self.tensors = ordered
        self.precision = options.precision ?? (dtype == .float64 ? .float64 : .float32)
        self.packedWeights = LazyPackedWeights(tensors: ordered, configuration: configuration, isCell: isCell)
    }

    /// Fills the parts of `configuration` that weights cannot say, and checks what metadata repeats.
    private static func apply(_ metadata: StateDict.Metadata, options: RNNLoadOptions, to configuration: inout RNNConfiguration) throws {
        func flag(_ key: String) throws -> Bool? {
            guard let value = metadata[key] else { return nil }
            switch value.lowercased() {
            case "true", "1": return true
            case "false", "0": return false
            default: throw RNNLoadError.badMetadata(key: key, value: value)
            }
        }
        if let value = metadata["mode"] {
            // PyTorch's own mode names (RNN_TANH, LSTM, GRU) and ours (rnn, lstm, gru, rnn_cell, …) are accepted.
            var name = value.lowercased()
            if name.hasSuffix("_cell") { name.removeLast(5) }
            if name == "rnn_tanh" || name == "rnn_relu" { name = "rnn" }
            guard let mode = RecurrentMode(rawValue: name) else { throw RNNLoadError.badMetadata(key: "mode", value: value) }
            guard mode == configuration.mode else {
                throw RNNLoadError.metadataConflict(key: "mode", value: value, inferred: configuration.mode.rawValue)
            }
        }
        if let value = metadata["proj_size"], value != "\(configuration.projSize)" {
            throw RNNLoadError.metadataConflict(key: "proj_size", value: value, inferred: "\(configuration.projSize)")
        }
        if let nonlinearity = options.nonlinearity {
            configuration.nonlinearity = nonlinearity
        } else if let value = metadata["nonlinearity"] {
            guard let parsed = Nonlinearity(rawValue: value.lowercased()) else { throw RNNLoadError.badMetadata(key: "nonlinearity", value: value) }
            configuration.nonlinearity = parsed
        }
        if let batchFirst = try flag("batch_first") { configuration.batchFirst = batchFirst }
        if let batchFirst = options.batchFirst { configuration.batchFirst = batchFirst }
        // A GRU's alone: an RNN or LSTM has nothing to reset.
        if configuration.mode == .gru, let resetAfter = try options.resetAfter ?? flag("reset_after") {
            configuration.resetAfter = resetAfter
        }
        if let reverse = try flag("reverse") {
            guard !reverse || !configuration.bidirectional else {
                throw RNNLoadError.metadataConflict(key: "reverse", value: metadata["reverse"]!, inferred: "false (the module is bidirectional)")
            }
            configuration.reverse = reverse
        }
        if let value = metadata["dropout"] {
            guard let dropout = Double(value), dropout >= 0, dropout <= 1 else { throw RNNLoadError.badMetadata(key: "dropout", value: value) }
            configuration.dropout = dropout
        }
        // Metadata that repeats what the tensors say must agree with them.
        let inferred: [(String, String)] = [
            ("input_size", "\(configuration.inputSize)"), ("hidden_size", "\(configuration.hiddenSize)"),
            ("num_layers", "\(configuration.numLayers)"),
        ]
        for (key, value) in inferred where metadata[key] != nil && metadata[key] != value {
            throw RNNLoadError.metadataConflict(key: key, value: metadata[key]!, inferred: value)
        }
        if let bidirectional = try flag("bidirectional"), bidirectional != configuration.bidirectional {
            throw RNNLoadError.metadataConflict(key: "bidirectional", value: metadata["bidirectional"]!, inferred: "\(configuration.bidirectional)")
        }
        if let bias = try flag("bias"), bias != configuration.bias {
            throw RNNLoadError.metadataConflict(key: "bias", value: metadata["bias"]!, inferred: "\(configuration.bias)")
        }
    }
}
