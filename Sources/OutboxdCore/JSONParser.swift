/// A strict RFC 8259 JSON parser.
///
/// Accepts exactly one value surrounded by optional space, tab, CR or LF, and
/// rejects everything RFC 8259 does not allow (comments, trailing commas,
/// NaN, leading zeros, invalid UTF-8, lone surrogates…), plus duplicate
/// object keys, number literals over 64 characters and nesting deeper than
/// `maxDepth`. Parsing is iterative, so hostile nesting cannot exhaust the
/// stack.
public struct JSONParser: Sendable {
    /// The longest number literal accepted.
    public static let maxNumberLength = 64

    /// What a key that comes twice in one object does.
    public enum DuplicateKeys: Sendable {
        /// It is an error (`JSONParseError.Reason.duplicateKey`): the default.
        case reject
        /// The last value is kept, at the key's first place (as Jackson's tree reader, which
        /// Debezium's `table.expand.json.payload` parses a text payload with).
        case lastWins
    }

    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int = 32,
                             duplicateKeys: DuplicateKeys = .reject) throws(JSONParseError) -> JSONValue {
        var cursor = JSONByteCursor(bytes, maxDepth: maxDepth, duplicateKeys: duplicateKeys)
        return try cursor.parseDocument()
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 32) throws(JSONParseError) -> JSONValue {
        try parse(bytes.assumingMemoryBound(to: UInt8.self), maxDepth: maxDepth)
    }

    public static func parse(_ bytes: some Collection<UInt8>, maxDepth: Int = 32,
                             duplicateKeys: DuplicateKeys = .reject) throws(JSONParseError) -> JSONValue {
        let result = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(JSONParseError) in try parse(buffer, maxDepth: maxDepth, duplicateKeys: duplicateKeys) }
        } ?? Array(bytes).withUnsafeBufferPointer { buffer in
            Result { () throws(JSONParseError) in try parse(buffer, maxDepth: maxDepth, duplicateKeys: duplicateKeys) }
        }
        return try result.get()
    }

    public static func parse(_ text: String, maxDepth: Int = 32) throws(JSONParseError) -> JSONValue {
        var text = text
        return try text.withUTF8 { buffer in
            Result { () throws(JSONParseError) in try parse(buffer, maxDepth: maxDepth) }
        }.get()
    }
}
