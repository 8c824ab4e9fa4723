import Foundation
import OutboxdCore

/// A Swift type that a column in PostgreSQL's text format decodes into.
public protocol PostgresDecodable {
    /// Returns nil when the text is not a valid value of this type.
    init?(postgresText: String)
}

extension String: PostgresDecodable {
    public init?(postgresText: String) { self = postgresText }
}

extension Int: PostgresDecodable {
    public init?(postgresText: String) { self.init(postgresText, radix: 10) }
}

extension Int32: PostgresDecodable {
    public init?(postgresText: String) { self.init(postgresText, radix: 10) }
}

extension Int64: PostgresDecodable {
    public init?(postgresText: String) { self.init(postgresText, radix: 10) }
}

extension Double: PostgresDecodable {
    public init?(postgresText: String) { self.init(postgresText) }
}

extension Bool: PostgresDecodable {
    public init?(postgresText: String) {
        switch postgresText {
        case "t": self = true
        case "f": self = false
        default: return nil
        }
    }
}

extension UUID: PostgresDecodable {
    public init?(postgresText: String) { self.init(text: postgresText) }
}

extension Timestamp: PostgresDecodable {}
