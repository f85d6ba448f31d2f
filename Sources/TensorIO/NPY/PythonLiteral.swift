/// The few Python literals an NPY header may hold, parsed without evaluating anything.
///
/// numpy writes the header with `repr()` of a dict and reads it with `ast.literal_eval`; this parser accepts
/// the subset that can describe an array: strings, integers (with the old `L` suffix), `True`/`False`/`None`,
/// tuples, lists and dicts, with trailing commas. Anything else is an error.
indirect enum PythonLiteral: Equatable {
    case string(String)
    case integer(Int)
    case boolean(Bool)
    case none
    case tuple([PythonLiteral])
    case list([PythonLiteral])
    case dict([(String, PythonLiteral)])

    static func == (lhs: PythonLiteral, rhs: PythonLiteral) -> Bool {
        switch (lhs, rhs) {
        case (.string(let a), .string(let b)): a == b
        case (.integer(let a), .integer(let b)): a == b
        case (.boolean(let a), .boolean(let b)): a == b
        case (.none, .none): true
        case (.tuple(let a), .tuple(let b)), (.list(let a), .list(let b)): a == b
        case (.dict(let a), .dict(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    /// Parses `text` as one literal; the error message says what was found where.
    static func parse(_ text: String) throws(PythonLiteralError) -> PythonLiteral {
        var parser = Parser(scalars: Array(text.unicodeScalars))
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.atEnd else { throw parser.error("unexpected text after the literal") }
        return value
    }

    private struct Parser {
        let scalars: [Unicode.Scalar]
        var index = 0
        var atEnd: Bool { index >= scalars.count }

        func error(_ message: String) -> PythonLiteralError { PythonLiteralError(message: "\(message) at character \(index)") }

        mutating func skipSpace() {
            while !atEnd, [" ", "\t", "\n", "\r"].contains(scalars[index]) { index += 1 }
        }

        mutating func value(depth: Int) throws(PythonLiteralError) -> PythonLiteral {
            guard depth < 32 else { throw error("literal nested too deeply") }
            skipSpace()
            guard !atEnd else { throw error("literal ends early") }
            let c = scalars[index]
            switch c {
            case "'", "\"": return .string(try string())
            case "(": return .tuple(try sequence(close: ")", depth: depth))
            case "[": return .list(try sequence(close: "]", depth: depth))
            case "{": return try dict(depth: depth)
            case "-", "+", "0"..."9": return .integer(try integer())
            default:
                for (word, literal) in [("True", PythonLiteral.boolean(true)), ("False", .boolean(false)), ("None", .none)]
                where matches(word) {
                    index += word.unicodeScalars.count
                    return literal
                }
                throw error("unexpected character \"\(c)\"")
            }
        }

        func matches(_ word: String) -> Bool {
            let w = Array(word.unicodeScalars)
            guard index + w.count <= scalars.count, Array(scalars[index..<index + w.count]) == w else { return false }
            let next = index + w.count
            return next == scalars.count || !(scalars[next].properties.isAlphabetic || scalars[next] == "_")
        }

        mutating func string() throws(PythonLiteralError) -> String {
            let quote = scalars[index]
            index += 1
            var result = String.UnicodeScalarView()
            while true {
                guard !atEnd else { throw error("string not closed") }
                let c = scalars[index]
                index += 1
                if c == quote { return String(result) }
                if c == "\n" { throw error("line break inside a string") }
                if c == "\\" {
                    guard !atEnd else { throw error("string not closed") }
                    let e = scalars[index]
                    index += 1
                    switch e {
                    case "\\", "'", "\"": result.append(e)
                    case "n": result.append("\n")
                    case "t": result.append("\t")
                    case "r": result.append("\r")
                    case "0": result.append("\0")
                    case "x": result.append(try hexScalar(digits: 2))
                    case "u": result.append(try hexScalar(digits: 4))
                    case "U": result.append(try hexScalar(digits: 8))
                    default: throw error("unsupported escape \\\(e)")
                    }
                } else {
                    result.append(c)
                }
            }
        }

        mutating func hexScalar(digits: Int) throws(PythonLiteralError) -> Unicode.Scalar {
            guard index + digits <= scalars.count else { throw error("short escape") }
            let text = String(String.UnicodeScalarView(scalars[index..<index + digits]))
            index += digits
            guard let code = UInt32(text, radix: 16), let scalar = Unicode.Scalar(code) else { throw error("bad escape") }
            return scalar
        }

        mutating func integer() throws(PythonLiteralError) -> Int {
            var text = ""
            if scalars[index] == "-" || scalars[index] == "+" {
                text.unicodeScalars.append(scalars[index])
                index += 1
            }
            while !atEnd, ("0"..."9").contains(scalars[index]) {
                text.unicodeScalars.append(scalars[index])
                index += 1
            }
            if !atEnd, scalars[index] == "L" || scalars[index] == "l" { index += 1 }
            guard let value = Int(text) else { throw error("integer \(text) is not representable") }
            return value
        }

        mutating func sequence(close: Unicode.Scalar, depth: Int) throws(PythonLiteralError) -> [PythonLiteral] {
            index += 1
            var items: [PythonLiteral] = []
            while true {
                skipSpace()
                guard !atEnd else { throw error("sequence not closed") }
                if scalars[index] == close { index += 1; return items }
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard !atEnd else { throw error("sequence not closed") }
                if scalars[index] == "," { index += 1 } else if scalars[index] != close { throw error("expected , or \(close)") }
            }
        }

        mutating func dict(depth: Int) throws(PythonLiteralError) -> PythonLiteral {
            index += 1
            var items: [(String, PythonLiteral)] = []
            while true {
                skipSpace()
                guard !atEnd else { throw error("dict not closed") }
                if scalars[index] == "}" { index += 1; return .dict(items) }
                guard case .string(let key) = try value(depth: depth + 1) else { throw error("dict key is not a string") }
                skipSpace()
                guard !atEnd, scalars[index] == ":" else { throw error("expected :") }
                index += 1
                items.append((key, try value(depth: depth + 1)))
                skipSpace()
                guard !atEnd else { throw error("dict not closed") }
                if scalars[index] == "," { index += 1 } else if scalars[index] != "}" { throw error("expected , or }") }
            }
        }
    }
}

/// Why an NPY header is not a literal the reader accepts.
struct PythonLiteralError: Error {
    let message: String
}
