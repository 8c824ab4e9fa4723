/// Why the group commit answered a create without writing it.
public struct GroupCommitError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public enum Code: Sendable, Equatable {
        /// The batch failed for a reason of no single row (lock wait, timeout, lost connection)
        /// on every attempt: nothing of it was written, and the client may retry.
        case unavailable
    }

    public let code: Code
    /// Statements sent for the batch before giving up.
    public let attempts: Int
    /// The last failure (its description holds SQLSTATE and PostgreSQL's primary message only).
    public let underlying: any Error

    public var description: String {
        switch code {
        case .unavailable: return "group commit gave up after \(attempts) attempt(s): \(underlying)"
        }
    }

    public var debugDescription: String {
        "\(description); last error: \(String(reflecting: underlying))"
    }
}
