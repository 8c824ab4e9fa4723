/// Why and where ``JSONParser`` rejected its input.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Hashable {
        case unexpectedEnd
        case unexpectedByte
        case invalidUTF8
        case invalidEscape
        case invalidNumber
        case numberTooLong
        case controlCharacter
        case duplicateKey
        case tooDeep
        case trailingData
        case empty
    }

    /// Byte offset into the input where the problem was found.
    public let offset: Int
    public let reason: Reason
    /// A short human explanation. It never quotes input beyond one byte,
    /// except the (escaped, truncated) key of a duplicate key.
    public let detail: String

    public init(offset: Int, reason: Reason, detail: String? = nil) {
        self.offset = offset
        self.reason = reason
        self.detail = detail ?? reason.defaultDetail
    }

    /// "invalid JSON at byte 17: expected ':' after object key"
    public var description: String {
        "invalid JSON at byte \(offset): \(detail)"
    }

    /// Compares `offset` and `reason` only; `detail` is prose.
    public static func == (lhs: JSONParseError, rhs: JSONParseError) -> Bool {
        lhs.offset == rhs.offset && lhs.reason == rhs.reason
    }
}

extension JSONParseError.Reason {
    var defaultDetail: String {
        switch self {
        case .unexpectedEnd: "unexpected end of input"
        case .unexpectedByte: "unexpected byte"
        case .invalidUTF8: "invalid UTF-8"
        case .invalidEscape: "invalid escape sequence"
        case .invalidNumber: "invalid number"
        case .numberTooLong: "number literal longer than \(JSONParser.maxNumberLength) characters"
        case .controlCharacter: "unescaped control character in string"
        case .duplicateKey: "duplicate object key"
        case .tooDeep: "nesting too deep"
        case .trailingData: "unexpected data after the JSON value"
        case .empty: "empty input"
        }
    }
}
