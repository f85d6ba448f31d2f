import Foundation
import RNNKit

/// One-line JSON with sorted keys, safe to print on a terminal.
///
/// JSONSerialization escapes the C0 controls; the other characters `DisplayText` escapes (DEL, the C1
/// controls such as U+009B, which some terminals take as CSI, line and bidirectional controls, and the
/// placeholders of a path's non-UTF-8 bytes) become `\u` escapes too, so a JSON parser reads the same string
/// back while the terminal sees none of them raw.
enum JSONText {
    static func encode(_ object: Any) -> String {
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        let text = String(decoding: data, as: UTF8.self)
        guard text.unicodeScalars.contains(where: DisplayText.needsEscape) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            guard DisplayText.needsEscape(scalar) else { result.unicodeScalars.append(scalar); continue }
            for unit in String(scalar).utf16 { result += "\\u" + DisplayText.hex(UInt32(unit), digits: 4) }
        }
        return result
    }
}
