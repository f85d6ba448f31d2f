/// A JSON object whose values are all strings, parsed in order (Foundation's parser forgets key order).
///
/// Metadata is stored this way in NPZ (`__metadata__`) and later in safetensors; keeping the order makes a
/// file read and written back identical.
enum JSONStringObject {
    /// The key-value pairs of `text`, or nil unless it is exactly one JSON object of strings.
    static func parse(_ text: String) -> [(String, String)]? {
        var scalars = Array(text.unicodeScalars)[...]
        func skipSpace() { while let c = scalars.first, [" ", "\t", "\n", "\r"].contains(c) { scalars.removeFirst() } }
        func expect(_ c: Unicode.Scalar) -> Bool {
            skipSpace()
            guard scalars.first == c else { return false }
            scalars.removeFirst()
            return true
        }
        func string() -> String? {
            guard expect("\"") else { return nil }
            var out = String.UnicodeScalarView()
            var pendingHigh: UInt32?
            while let c = scalars.popFirst() {
                if c == "\"" { return pendingHigh == nil ? String(out) : nil }
                guard c.value >= 0x20 else { return nil }
                guard c == "\\" else {
                    guard pendingHigh == nil else { return nil }
                    out.append(c)
                    continue
                }
                guard let e = scalars.popFirst() else { return nil }
                let simple: [Unicode.Scalar: Unicode.Scalar] = ["\"": "\"", "\\": "\\", "/": "/", "b": "\u{08}", "f": "\u{0C}", "n": "\n", "r": "\r", "t": "\t"]
                if let s = simple[e] {
                    guard pendingHigh == nil else { return nil }
                    out.append(s)
                    continue
                }
                guard e == "u", scalars.count >= 4,
                      let code = UInt32(String(String.UnicodeScalarView(scalars.prefix(4))), radix: 16) else { return nil }
                scalars.removeFirst(4)
                if let high = pendingHigh {
                    guard (0xDC00...0xDFFF).contains(code) else { return nil }
                    out.append(Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00))!)
                    pendingHigh = nil
                } else if (0xD800...0xDBFF).contains(code) {
                    pendingHigh = code
                } else {
                    guard let scalar = Unicode.Scalar(code) else { return nil }
                    out.append(scalar)
                }
            }
            return nil
        }
        guard expect("{") else { return nil }
        var pairs: [(String, String)] = []
        if !expect("}") {
            repeat {
                guard let key = string(), expect(":"), let value = string() else { return nil }
                pairs.append((key, value))
            } while expect(",")
            guard expect("}") else { return nil }
        }
        skipSpace()
        return scalars.isEmpty ? pairs : nil
    }

    /// `pairs` as a JSON object, keys in order, non-ASCII characters kept as they are.
    static func encode(_ pairs: some Sequence<(key: String, value: String)>) -> String {
        "{" + pairs.map { "\(quoted($0.key)): \(quoted($0.value))" }.joined(separator: ", ") + "}"
    }

    /// `text` as a JSON string literal.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
