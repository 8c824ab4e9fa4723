/// An entity-tag of RFC 9110 §8.8.3: `"opaque"`, or `W/"opaque"` for a weak one.
public struct EntityTag: Sendable, Equatable {
    public var opaque: String
    public var isWeak: Bool

    public init(opaque: String, isWeak: Bool = false) {
        self.opaque = opaque
        self.isWeak = isWeak
    }

    /// The tags of a list field such as `If-Match` (`"1", W/"2"`) in order, empty list elements
    /// skipped (RFC 9110 §5.6.1); nil when an element is not an entity-tag (`W/` is case-sensitive,
    /// the opaque part is quoted and holds no `"`, control character or space).
    public static func list(_ value: String) -> [EntityTag]? {
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ",")
        let bytes = Array(value.utf8)
        var rest = bytes[...]
        var tags: [EntityTag] = []
        func skipWhitespace() {
            while let byte = rest.first, byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { rest.removeFirst() }
        }
        while true {
            skipWhitespace()
            guard let first = rest.first else { return tags }
            if first == comma {
                rest.removeFirst()
                continue
            }
            let isWeak = rest.starts(with: "W/".utf8)
            if isWeak { rest.removeFirst(2) }
            guard rest.first == quote, let close = rest.dropFirst().firstIndex(of: quote) else { return nil }
            let opaque = rest[(rest.startIndex + 1)..<close]
            guard opaque.allSatisfy({ $0 == 0x21 || (0x23...0x7E).contains($0) || $0 >= 0x80 }) else { return nil }
            tags.append(EntityTag(opaque: String(decoding: opaque, as: UTF8.self), isWeak: isWeak))
            rest = rest[(close + 1)...]
            skipWhitespace()
            if let next = rest.first {
                guard next == comma else { return nil }
                rest.removeFirst()
            }
        }
    }
}
