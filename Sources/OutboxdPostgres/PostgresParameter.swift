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
    public var postgresText: String {
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        bytes.reserveCapacity(count * 16 + 2)
        for (index, element) in enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(UInt8(ascii: "\""))
            // `"` and `\` are ASCII, never part of a multi-byte UTF-8 sequence.
            for byte in element.postgresText.utf8 {
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { bytes.append(UInt8(ascii: "\\")) }
                bytes.append(byte)
            }
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }
}
