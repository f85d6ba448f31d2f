/// The layers of a Keras model configuration (`model_config` of a legacy `.h5`, `config.json` of a `.keras`),
/// as far as the recurrent layers need them: class, name, their own configuration, and which layers feed them.
struct KerasConfig {
    struct Layer {
        /// `LSTM`, `Bidirectional`, `Dense`, …
        var className: String
        var name: String
        /// The layer's `config` object.
        var config: SafeTensorsJSON
        /// The layers whose outputs this one takes: the previous layer in a Sequential model, the
        /// `inbound_nodes` in a functional one.
        var inbound: [String]
    }

    var layers: [Layer]

    /// Reads the configuration; `path` names the file in errors.
    init(_ json: SafeTensorsJSON, path: String) throws {
        func fail(_ detail: String) -> TensorFileError {
            TensorFileError(path: path, tensor: "model configuration", problem: .malformed(detail))
        }
        guard let className = json["class_name"]?.text else { throw fail("no class_name at the top") }
        guard let config = json["config"] else { throw fail("no config at the top") }
        // Keras 1 and some Keras 2 Sequential models keep the list of layers as the config itself.
        guard let list = config["layers"]?.items ?? config.items else {
            throw fail("\(className) has no list of layers")
        }
        guard list.count <= 100_000 else { throw fail("\(list.count) layers") }
        let sequential = className == "Sequential"
        var layers: [Layer] = []
        for entry in list {
            guard let layerClass = entry["class_name"]?.text, let layerConfig = entry["config"] else {
                throw fail("a layer without class_name or config")
            }
            guard let name = layerConfig["name"]?.text ?? entry["name"]?.text else {
                throw fail("a \(layerClass) layer without a name")
            }
            var inbound: [String] = []
            if sequential {
                if let previous = layers.last { inbound = [previous.name] }
            } else if let nodes = entry["inbound_nodes"] {
                inbound = Self.layerNames(in: nodes, depth: 0)
            }
            layers.append(Layer(className: layerClass, name: name, config: layerConfig, inbound: inbound))
        }
        self.layers = layers
    }

    /// The layer names an `inbound_nodes` value refers to: Keras 3 writes `{"keras_history": [name, node, index]}`
    /// for each input tensor, Keras 2 `[name, node, index, kwargs]` lists.
    private static func layerNames(in value: SafeTensorsJSON, depth: Int) -> [String] {
        guard depth < 16 else { return [] }
        switch value {
        case .object(let members):
            if let history = members.first(where: { $0.key == "keras_history" })?.value, let name = history.items?.first?.text {
                return [name]
            }
            return members.flatMap { layerNames(in: $0.value, depth: depth + 1) }
        case .array(let items):
            if items.count >= 3, let name = items[0].text, items[1].integer != nil { return [name] }
            return items.flatMap { layerNames(in: $0, depth: depth + 1) }
        default:
            return []
        }
    }
}

extension SafeTensorsJSON {
    /// The member `key` of an object (the first, should it repeat), else nil.
    subscript(key: String) -> SafeTensorsJSON? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// The string, else nil.
    var text: String? {
        guard case .string(let value) = self else { return nil }
        return value
    }

    /// The array's items, else nil.
    var items: [SafeTensorsJSON]? {
        guard case .array(let values) = self else { return nil }
        return values
    }

    /// The boolean, else nil.
    var boolean: Bool? {
        guard case .bool(let value) = self else { return nil }
        return value
    }
}

extension SafeTensorsJSON {
    /// The value as JSON text (objects in their order, numbers as written).
    var serialized: [UInt8] {
        var out: [UInt8] = []
        serialize(into: &out)
        return out
    }

    private func serialize(into out: inout [UInt8]) {
        switch self {
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, member) in members.enumerated() {
                if index > 0 { out += Array(", ".utf8) }
                out += Self.quoted(member.key)
                out += Array(": ".utf8)
                member.value.serialize(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out += Array(", ".utf8) }
                item.serialize(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .string(let text): out += Self.quoted(text)
        case .number(let text): out += Array(text.utf8)
        case .bool(let value): out += Array((value ? "true" : "false").utf8)
        case .null: out += Array("null".utf8)
        }
    }
}
