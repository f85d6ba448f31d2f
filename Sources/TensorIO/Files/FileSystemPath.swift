/// Paths as Linux has them: bytes, not necessarily UTF-8, carried losslessly in a Swift `String`.
///
/// Swift decodes `CommandLine.arguments` as UTF-8 and replaces what does not decode, so a file named
/// `lat1_\xe9.npz` (Latin-1) would be looked up as `lat1_\u{FFFD}.npz` and "not exist". `string(fromBytes:)` instead
/// keeps each byte that is not part of valid UTF-8 as a placeholder scalar U+10FF80…U+10FFFF (plane 16, private
/// use), the way Python's `surrogateescape` does with lone surrogates; `withCString` turns the placeholders back
/// into the original bytes for the system call. A path that really contains one of those 128 scalars has their
/// UTF-8 bytes escaped one by one, so every byte string survives the round trip. Printing goes through
/// `DisplayText.escaped`, which shows a placeholder as `\xe9`.
package enum FileSystemPath {
    /// The placeholder of byte `b` (0x80…0xFF) is U+10FF00 + b.
    static let placeholderBase: UInt32 = 0x10FF00

    /// The byte a placeholder scalar stands for, or nil for any other scalar.
    static func placeholderByte(_ scalar: Unicode.Scalar) -> UInt8? {
        scalar.value >= placeholderBase + 0x80 ? UInt8(scalar.value - placeholderBase) : nil
    }

    /// A path's bytes (as `argv` or `readlink` give them) as a `String`, losslessly.
    package static func string(fromBytes bytes: some Collection<UInt8>) -> String {
        var scalars = String.UnicodeScalarView()
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var rest = Array(bytes)[...]
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                let scalar = Unicode.UTF8.decode(encoded)
                if placeholderByte(scalar) != nil {
                    for byte in rest.prefix(encoded.count) { scalars.append(Unicode.Scalar(placeholderBase + UInt32(byte))!) }
                } else {
                    scalars.append(scalar)
                }
                rest = rest.dropFirst(encoded.count)
            case .error(let length):
                for byte in rest.prefix(length) { scalars.append(Unicode.Scalar(placeholderBase + UInt32(byte))!) }
                rest = rest.dropFirst(length)
            case .emptyInput:
                return String(scalars)
            }
        }
    }

    /// The bytes `path` stands for, without a terminating NUL.
    package static func bytes(_ path: String) -> [UInt8] {
        guard path.unicodeScalars.contains(where: { placeholderByte($0) != nil }) else { return Array(path.utf8) }
        var result: [UInt8] = []
        result.reserveCapacity(path.utf8.count)
        for scalar in path.unicodeScalars {
            if let byte = placeholderByte(scalar) { result.append(byte) } else { result.append(contentsOf: UTF8.encode(scalar)!) }
        }
        return result
    }

    /// Calls `body` with `path` as the NUL-terminated bytes a system call wants.
    package static func withCString<R>(_ path: String, _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        var bytes = self.bytes(path).map { CChar(bitPattern: $0) }
        bytes.append(0)
        return try bytes.withUnsafeBufferPointer { try body($0.baseAddress!) }
    }

    /// The program's arguments (without the program's name) with every byte kept; see the type's description.
    package static var arguments: [String] {
        (1..<Int(CommandLine.argc)).map { index in
            let pointer = CommandLine.unsafeArgv[index]!
            return string(fromBytes: UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)))
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Text from a file (a tensor name, a metadata value, a path) made safe to print on a terminal.
///
/// A name such as `"enc\nerror: forged"` or a value holding `ESC[31m` must neither add a line to an error nor
/// reach the terminal as a control sequence. `escaped` replaces each control character with a visible escape:
/// `\n`, `\r`, `\t`, `\x1b` for the C0 controls and DEL, `\u{9b}` for the C1 controls and for the Unicode
/// characters that reorder or break lines (U+2028, U+2029, bidirectional overrides and isolates), and `\xe9` for
/// a byte of a path that is not UTF-8 (see `FileSystemPath`). Everything else, backslashes included, is kept,
/// so escaping twice changes nothing.
public enum DisplayText {
    /// `text` with every control character shown as an escape.
    public static func escaped(_ text: some StringProtocol) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return String(text) }
        var result = ""
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar) else { result.unicodeScalars.append(scalar); continue }
            if let byte = FileSystemPath.placeholderByte(scalar) { result += "\\x" + hex(UInt32(byte), digits: 2); continue }
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                result += scalar.value < 0x80 ? "\\x" + hex(scalar.value, digits: 2) : "\\u{" + hex(scalar.value, digits: 1) + "}"
            }
        }
        return result
    }

    package static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C: true
        default: FileSystemPath.placeholderByte(scalar) != nil
        }
    }

    /// `value` in lowercase hexadecimal, zero-padded to at least `digits` digits.
    package static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}

extension FileSystemPath {
    /// Whether anything is at `path`, a dangling symbolic link included (`lstat`).
    package static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstatPath(path, &info) == 0
    }

    /// The size of the file at `path` (following links), or 0 when there is none.
    package static func size(of path: String) -> Int {
        var info = stat()
        return withCString(path) { stat($0, &info) } == 0 ? Int(info.st_size) : 0
    }
}
