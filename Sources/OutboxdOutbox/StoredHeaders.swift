import OutboxdCore

/// A row's stored headers (`outbox.headers`, which other services write with SQL) as the relay
/// sends them: each member whose value is a string, after the relay's own headers. A member with
/// another value (number, object, null, …) is left out alone, never the whole column, and so is a
/// member named like one of the relay's own headers in the record shape (compared without case),
/// whose value the relay sets: a consumer reading the last `ce_id` must get the event's id.
struct StoredHeaders: Sendable {
    var valid: [(name: String, value: String)] = []
    /// Names of members whose value is not a string.
    var invalid: [String] = []
    /// Names of members the relay's own headers replace.
    var shadowing: [String] = []
    /// The column is not a JSON object: nothing of it is sent.
    var notAnObject = false

    var isClean: Bool { invalid.isEmpty && shadowing.isEmpty && !notAnObject }

    init() {}

    /// Reads `jsonb::text` member by member, so a value the strict parser refuses (a number over
    /// 64 digits, nesting deeper than 32) costs only its own member.
    /// `relayOwned`: the names (lowercase) of the headers the relay sets in the record shape.
    init(jsonText: String, relayOwned: Set<String> = RecordShape.cloudEvents.relayOwnedHeaders) {
        if jsonText == "{}" { return } // most rows: nothing stored
        let bytes = Array(jsonText.utf8)
        var index = 0
        func skipSpace() { while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 } }
        /// The end (exclusive) of the string starting at `start` (its opening quote).
        func stringEnd(from start: Int) -> Int? {
            var i = start + 1
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: "\\"): i += 2
                case UInt8(ascii: "\""): return i + 1
                default: i += 1
                }
            }
            return nil
        }
        /// The end (exclusive) of the value starting at `start`.
        func valueEnd(from start: Int) -> Int? {
            var depth = 0, i = start
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: "\""):
                    guard let end = stringEnd(from: i) else { return nil }
                    i = end
                    if depth == 0 { return i }
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if depth == 0 { return i }
                    depth -= 1
                    if depth == 0 { return i + 1 }
                case UInt8(ascii: ","):
                    if depth == 0 { return i }
                default: break
                }
                i += 1
            }
            return depth == 0 ? i : nil
        }
        skipSpace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else {
            notAnObject = true
            return
        }
        index += 1
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") { return }
        while index < bytes.count {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), let keyEnd = stringEnd(from: index),
                  let name = (try? JSONParser.parse(bytes[index..<keyEnd]))?.stringValue else {
                notAnObject = true
                return
            }
            index = keyEnd
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                notAnObject = true
                return
            }
            index += 1
            skipSpace()
            guard let end = valueEnd(from: index), end > index else {
                notAnObject = true
                return
            }
            if relayOwned.contains(name.lowercased()) {
                shadowing.append(name)
            } else if let value = (try? JSONParser.parse(bytes[index..<end]))?.stringValue {
                valid.append((name, value))
            } else {
                invalid.append(name)
            }
            index = end
            skipSpace()
            guard index < bytes.count else { break }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "}") { return }
            notAnObject = true
            return
        }
        notAnObject = true
    }

    /// Names as they go into a log line: at most 20, each at most 64 characters.
    static func logList(_ names: [String]) -> String {
        var list = names.prefix(20).map { $0.count > 64 ? String($0.prefix(64)) + "…" : $0 }
        if names.count > 20 { list.append("… \(names.count - 20) more") }
        return list.joined(separator: ",")
    }
}
