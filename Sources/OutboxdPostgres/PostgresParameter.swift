import Foundation
import OutboxdCore

/// A value bound to a `$n` placeholder, sent in PostgreSQL's text format.
/// `nil` in a parameter list binds SQL NULL.
public protocol PostgresParameter: Sendable {
    var postgresText: String { get }
}

extension String: PostgresParameter {
    public var postgresText: String { self }
}

extension Int: PostgresParameter {
    public var postgresText: String { String(self) }
}

extension Int32: PostgresParameter {
    public var postgresText: String { String(self) }
}

extension Int64: PostgresParameter {
    public var postgresText: String { String(self) }
}

extension Bool: PostgresParameter {
    public var postgresText: String { self ? "t" : "f" }
}

extension UUID: PostgresParameter {
    public var postgresText: String { lowercaseString }
}

extension Timestamp: PostgresParameter {
    public var postgresText: String { rfc3339 }
}

/// A one-dimensional array literal (`{"a","b\"c"}`); every element is quoted, which PostgreSQL
/// accepts for any element type.
extension Array: PostgresParameter where Element: PostgresParameter {
    public var postgresText: String { PostgresArrayText.encode(map { Optional($0.postgresText) }) }
}

/// A one-dimensional array whose elements may be SQL NULL (`{"a",NULL}`).
public struct PostgresNullableArray<Element: PostgresParameter>: PostgresParameter {
    public var elements: [Element?]

    public init(_ elements: [Element?]) { self.elements = elements }

    public var postgresText: String { PostgresArrayText.encode(elements.map { $0?.postgresText }) }
}

enum PostgresArrayText {
    /// `{"e1","e2",NULL}`: each element quoted with `"` and `\` escaped (both ASCII, never part
    /// of a multi-byte UTF-8 sequence); nil as an unquoted NULL.
    static func encode(_ elements: [String?]) -> String {
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        bytes.reserveCapacity(elements.count * 16 + 2)
        for (index, element) in elements.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            guard let element else {
                bytes.append(contentsOf: "NULL".utf8)
                continue
            }
            bytes.append(UInt8(ascii: "\""))
            for byte in element.utf8 {
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { bytes.append(UInt8(ascii: "\\")) }
                bytes.append(byte)
            }
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }
}
