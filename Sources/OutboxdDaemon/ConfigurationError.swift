/// An invalid configuration value or file; the message names the key (and file line) and what is
/// allowed, and never echoes a secret value. A key longer than 64 bytes (an unknown one) is cut.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible, Equatable {
    public let key: String?
    public let message: String

    public init(key: String?, _ message: String) {
        self.key = key.map { Redaction.excerpt($0, limit: 64) }
        self.message = message
    }

    public var description: String {
        key.map { "\($0): \(message)" } ?? message
    }
}
