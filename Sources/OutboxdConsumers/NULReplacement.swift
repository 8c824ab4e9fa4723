import Foundation
import OutboxdCore

/// PostgreSQL `text` and `jsonb` cannot hold U+0000 (a text parameter ends at it, `jsonb` refuses
/// `\u0000`): what the consumers store has each NUL replaced with U+FFFD, so such an event is
/// applied like any other instead of failing its batch and being retried and dead-lettered.
enum NULReplacement {
    static let replacement = "\u{FFFD}"

    static func text(_ text: String) -> String {
        text.utf8.contains(0) ? text.replacingOccurrences(of: "\0", with: replacement) : text
    }

    /// Whether a JSON text may decode to a string with NUL: it holds the escape `\u0000` (JSON
    /// allows no raw control character). A cheap scan, so that only such payloads are walked.
    static func mayHoldNUL(json bytes: [UInt8]) -> Bool {
        let escape = Array(#"\u0000"#.utf8)
        guard bytes.count >= escape.count else { return false }
        return bytes.withUnsafeBufferPointer { buffer in
            var index = 0
            while let found = buffer[index...].firstIndex(of: escape[0]) {
                guard found + escape.count <= buffer.count else { return false }
                if buffer[found..<found + escape.count].elementsEqual(escape) { return true }
                index = found + 1
            }
            return false
        }
    }

    /// `value` with NUL replaced in every string and key; nil when none held one.
    static func json(_ value: JSONValue) -> JSONValue? {
        switch value {
        case .string(let text):
            return text.utf8.contains(0) ? .string(self.text(text)) : nil
        case .array(let elements):
            let replaced = elements.map(json)
            guard replaced.contains(where: { $0 != nil }) else { return nil }
            return .array(zip(elements, replaced).map { $1 ?? $0 })
        case .object(let object):
            var changed = false
            var result = JSONObject()
            for (key, member) in object {
                let newKey = text(key), newValue = json(member)
                changed = changed || newKey != key || newValue != nil
                result.append(newKey, newValue ?? member)
            }
            return changed ? .object(result) : nil
        case .null, .bool, .number:
            return nil
        }
    }
}
