import Foundation

/// Writes Keras 3 files from recurrent layers already in Keras's layout (`KerasMapping` makes them): a `.keras`
/// model that `keras.models.load_model` opens with no custom code, or the `.weights.h5` that `load_weights` of
/// the same model takes.
///
/// The model is a `Sequential`: an `InputLayer` of shape `[batch, time, features]` (any batch and length), then
/// each recurrent layer in turn with `return_sequences=True` (wrapped in `Bidirectional(merge_mode="concat")` for
/// two directions), so that `model(x)` is the last layer's whole output sequence. Keras names layers and their
/// weights' groups after the class, made unique in order: `lstm`, `lstm_1`, …, `bidirectional`, ….
package enum KerasWriter {
    /// One recurrent layer: `SimpleRNN`, `LSTM` or `GRU`, with each direction's kernel `[I, G·H]`, recurrent kernel
    /// `[H, G·H]` and bias (`[G·H]`, or `[2, G·H]` for a GRU with `reset_after`).
    package struct Layer {
        package var className: String
        package var units: Int
        package var activation: String
        package var useBias: Bool
        package var resetAfter: Bool
        package var cells: [(kernel: Tensor, recurrent: Tensor, bias: Tensor?)]

        package init(className: String, units: Int, activation: String, useBias: Bool, resetAfter: Bool,
                     cells: [(kernel: Tensor, recurrent: Tensor, bias: Tensor?)]) {
            self.className = className
            self.units = units
            self.activation = activation
            self.useBias = useBias
            self.resetAfter = resetAfter
            self.cells = cells
        }

        var bidirectional: Bool { cells.count == 2 }
        var snakeName: String { ["SimpleRNN": "simple_rnn", "LSTM": "lstm", "GRU": "gru"][className] ?? className.lowercased() }
    }

    /// The Keras version whose files these mirror (the one the tests load them with).
    package static let kerasVersion = "3.15.1"

    /// Each layer's name (its weights' group): the class name made unique in order, as Keras names them.
    static func names(_ layers: [Layer]) -> [String] {
        var seen: [String: Int] = [:]
        return layers.map { layer in
            let base = layer.bidirectional ? "bidirectional" : layer.snakeName
            let count = seen[base, default: 0]
            seen[base] = count + 1
            return count == 0 ? base : "\(base)_\(count)"
        }
    }

    /// The `.weights.h5` contents: `/layers/<name>/cell/vars/0, 1, 2`, or `…/forward_layer/…` and
    /// `…/backward_layer/…`, with the `vars` groups named as Keras names them.
    package static func weightsTree(_ layers: [Layer]) -> HDF5Tree {
        var tree = HDF5Tree()
        tree.groups.append(.init("layers"))
        for (layer, name) in zip(layers, names(layers)) {
            tree.groups.append(.init("layers/\(name)"))
            tree.groups.append(.init("layers/\(name)/vars", attributes: [("name", name)]))
            let sides = layer.bidirectional ? [("forward_layer", "forward_\(layer.snakeName)"), ("backward_layer", "backward_\(layer.snakeName)")]
                : [("", name)]
            for ((side, _), cell) in zip(sides, layer.cells) {
                var base = "layers/\(name)"
                if !side.isEmpty {
                    base += "/\(side)"
                    tree.groups.append(.init(base))
                    tree.groups.append(.init(base + "/vars", attributes: [("name", sides.first { $0.0 == side }!.1)]))
                }
                tree.groups.append(.init(base + "/cell"))
                tree.groups.append(.init(base + "/cell/vars", attributes: [("name", "\(layer.snakeName)_cell")]))
                tree.datasets.append((base + "/cell/vars/0", cell.kernel))
                tree.datasets.append((base + "/cell/vars/1", cell.recurrent))
                if let bias = cell.bias { tree.datasets.append((base + "/cell/vars/2", bias)) }
            }
        }
        tree.groups.append(.init("vars", attributes: [("name", "sequential")]))
        return tree
    }

    /// `config.json`: the Sequential model.
    static func config(_ layers: [Layer], inputSize: Int, dtype: String) -> SafeTensorsJSON {
        typealias J = SafeTensorsJSON
        func object(_ pairs: [(String, J)]) -> J { .object(pairs.map { J.Member(key: $0.0, value: $0.1) }) }
        let shape = J.array([.null, .null, .number("\(inputSize)")])
        var width = inputSize
        var entries: [J] = [object([
            ("module", .string("keras.layers")), ("class_name", .string("InputLayer")),
            ("config", object([("batch_shape", shape), ("dtype", .string(dtype)), ("sparse", .bool(false)), ("name", .string("input_layer"))])),
            ("registered_name", .null),
        ])]
        for (layer, name) in zip(layers, names(layers)) {
            func recurrent(_ name: String, backwards: Bool) -> J {
                var settings: [(String, J)] = [
                    ("name", .string(name)), ("trainable", .bool(true)), ("dtype", .string(dtype)),
                    ("return_sequences", .bool(true)), ("return_state", .bool(false)), ("go_backwards", .bool(backwards)),
                    ("stateful", .bool(false)), ("unroll", .bool(false)), ("units", .number("\(layer.units)")),
                    ("activation", .string(layer.activation)),
                ]
                if layer.className != "SimpleRNN" { settings.append(("recurrent_activation", .string("sigmoid"))) }
                settings.append(("use_bias", .bool(layer.useBias)))
                if layer.className == "GRU" { settings.append(("reset_after", .bool(layer.resetAfter))) }
                settings += [("dropout", .number("0.0")), ("recurrent_dropout", .number("0.0"))]
                return object([("module", .string("keras.layers")), ("class_name", .string(layer.className)),
                               ("config", object(settings)), ("registered_name", .null)])
            }
            let build = object([("input_shape", .array([.null, .null, .number("\(width)")]))])
            if layer.bidirectional {
                entries.append(object([
                    ("module", .string("keras.layers")), ("class_name", .string("Bidirectional")),
                    ("config", object([
                        ("name", .string(name)), ("trainable", .bool(true)), ("dtype", .string(dtype)),
                        ("merge_mode", .string("concat")),
                        ("layer", recurrent("forward_\(layer.snakeName)", backwards: false)),
                        ("backward_layer", recurrent("backward_\(layer.snakeName)", backwards: true)),
                    ])),
                    ("registered_name", .null), ("build_config", build),
                ]))
            } else {
                guard case .object(var members) = recurrent(name, backwards: false) else { continue }
                members.append(J.Member(key: "build_config", value: build))
                entries.append(.object(members))
            }
            width = layer.units * layer.cells.count
        }
        return object([
            ("module", .string("keras")), ("class_name", .string("Sequential")),
            ("config", object([("name", .string("sequential")), ("trainable", .bool(true)), ("dtype", .string(dtype)),
                               ("layers", .array(entries))])),
            ("registered_name", .null),
            ("build_config", object([("input_shape", shape)])),
        ])
    }

    /// Writes the `.keras` zip (stored members, as Keras writes them) atomically.
    package static func writeArchive(_ layers: [Layer], inputSize: Int, dtype: String, to url: URL, replaceExisting: Bool) throws {
        let path = url.filePath
        let configBytes = config(layers, inputSize: inputSize, dtype: dtype).serialized
        let metadata = SafeTensorsJSON.object([
            .init(key: "keras_version", value: .string(kerasVersion)),
            .init(key: "date_saved", value: .string("1970-01-01@00:00:00")),
        ]).serialized
        let weights = try HDF5Format.bytes(of: weightsTree(layers), name: path)
        try AtomicOutput.write(to: path, replacing: replaceExisting) { file in
            var archive = ZipWriter(file: file)
            for (name, bytes) in [("metadata.json", metadata), ("config.json", configBytes), ("model.weights.h5", weights)] {
                try bytes.withUnsafeBytes { try archive.add(name: name, parts: [$0], compress: false) }
            }
            try archive.finish()
        }
    }

    /// Writes the `.weights.h5` atomically.
    package static func writeWeights(_ layers: [Layer], to url: URL, replaceExisting: Bool) throws {
        try HDF5Format.write(weightsTree(layers), to: url, replaceExisting: replaceExisting)
    }
}
