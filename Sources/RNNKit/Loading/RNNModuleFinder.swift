/// Finds the RNN, LSTM and GRU modules in a state_dict by their tensor names.
///
/// A module is identified by its prefix: bare keys (`weight_ih_l0`) have the empty prefix, `encoder.rnn.weight_ih_l0`
/// has `encoder.rnn`, DataParallel's `module.weight_ih_l0` has `module`. A cell (`weight_ih`, `weight_hh` without a layer
/// suffix, as RNNCell, LSTMCell and GRUCell save) is a module too: one layer, one direction.
public enum RNNModuleFinder {
    /// One tensor name split into its module prefix and its meaning.
    struct ParsedName: Equatable {
        enum Kind: String {
            case weightIH = "weight_ih", weightHH = "weight_hh", biasIH = "bias_ih", biasHH = "bias_hh", weightHR = "weight_hr"
        }
        var kind: Kind
        /// nil for an RNNCell's tensor (no `_l{k}` suffix).
        var layer: Int?
        var reverse: Bool
    }

    /// The prefixes of every RNN module in `names`, in order of first appearance.
    public static func prefixes(in names: [String]) -> [String] {
        var result: [String] = []
        for name in names {
            let (prefix, local) = split(name)
            if let parsed = parse(local), parsed.kind == .weightIH, parsed.layer == 0 || parsed.layer == nil,
               !parsed.reverse, !result.contains(prefix)
            {
                result.append(prefix)
            }
        }
        return result
    }

    /// `encoder.rnn.weight_ih_l0` → (`encoder.rnn`, `weight_ih_l0`).
    static func split(_ name: String) -> (prefix: String, local: String) {
        guard let dot = name.lastIndex(of: ".") else { return ("", name) }
        return (String(name[..<dot]), String(name[name.index(after: dot)...]))
    }

    /// The meaning of a module-local name, or nil when it is not an RNN tensor name.
    static func parse(_ local: String) -> ParsedName? {
        for kind in [ParsedName.Kind.weightIH, .weightHH, .biasIH, .biasHH, .weightHR] where local.hasPrefix(kind.rawValue) {
            var rest = local.dropFirst(kind.rawValue.count)
            if rest.isEmpty { return ParsedName(kind: kind, layer: nil, reverse: false) }
            guard rest.hasPrefix("_l") else { return nil }
            rest = rest.dropFirst(2)
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, digits.count <= 6, let layer = Int(digits) else { return nil }
            if digits.count > 1 && digits.first == "0" { return nil }
            rest = rest.dropFirst(digits.count)
            switch rest {
            case "": return ParsedName(kind: kind, layer: layer, reverse: false)
            case "_reverse": return ParsedName(kind: kind, layer: layer, reverse: true)
            default: return nil
            }
        }
        return nil
    }
}
