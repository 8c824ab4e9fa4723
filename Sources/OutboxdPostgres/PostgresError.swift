/// An error from PostgreSQL or from talking to it.
///
/// `description` is safe to log and to show: it holds the SQLSTATE and PostgreSQL's primary message,
/// which never contains row values. `debugDescription` adds the detail and hint (which may quote
/// values) and is meant for debug logs only.
public struct PostgresError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What went wrong, coarsely: callers decide on retry and HTTP status from this.
    public enum Kind: Sendable, Equatable {
        /// The server could not be reached (connect failed, or the connection broke mid-query).
        case connectionUnavailable
        /// The server answered with an error for the statement.
        case server
        /// No pooled connection became free within the acquire timeout.
        case poolTimeout
        /// A value in a row could not be decoded into the requested Swift type.
        case decoding
        /// The pool is closed (the daemon is stopping).
        case closed
    }

    /// A five-character SQLSTATE code (e.g. `23505`), or empty for client-side errors.
    public struct Code: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
        public let raw: String
        public init(_ raw: String) { self.raw = raw }
        public init(stringLiteral value: String) { self.raw = value }
        public var description: String { raw }

        public static let uniqueViolation: Code = "23505"
        public static let foreignKeyViolation: Code = "23503"
        public static let checkViolation: Code = "23514"
        public static let notNullViolation: Code = "23502"
        public static let serializationFailure: Code = "40001"
        public static let deadlockDetected: Code = "40P01"
        public static let queryCanceled: Code = "57014"
        public static let adminShutdown: Code = "57P01"
        public static let crashShutdown: Code = "57P02"
        public static let cannotConnectNow: Code = "57P03"
        public static let raiseException: Code = "P0001"
        public static let duplicateObject: Code = "42710"
        public static let objectNotInPrerequisiteState: Code = "55000"
        public static let objectInUse: Code = "55006"

        /// The two-character class (`08` connection exception, `23` integrity violation, …).
        public var errorClass: String { String(raw.prefix(2)) }
    }

    public var kind: Kind
    public var code: Code
    /// PostgreSQL's primary message (or the client's own message). Holds no row values.
    public var message: String
    public var detail: String?
    public var hint: String?
    public var constraint: String?

    public init(kind: Kind, code: Code = "", message: String, detail: String? = nil, hint: String? = nil, constraint: String? = nil) {
        self.kind = kind
        self.code = code
        self.message = message
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
    }

    /// True when retrying on a fresh connection later may succeed: the server is down, restarting
    /// or shutting down, or the pool is exhausted.
    public var isTransient: Bool {
        switch kind {
        case .connectionUnavailable, .poolTimeout: return true
        case .server:
            return code.errorClass == "08" || code == .adminShutdown || code == .crashShutdown || code == .cannotConnectNow
        case .decoding, .closed: return false
        }
    }

    public var description: String {
        let text = message.split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? ""
        switch kind {
        case .connectionUnavailable: return "PostgreSQL unavailable: \(text)"
        case .poolTimeout: return "no PostgreSQL connection free: \(text)"
        case .decoding: return "PostgreSQL row decoding failed: \(text)"
        case .closed: return "PostgreSQL pool closed"
        case .server: return code.raw.isEmpty ? "PostgreSQL error: \(text)" : "PostgreSQL error \(code.raw): \(text)"
        }
    }

    public var debugDescription: String {
        var parts = [description]
        if let detail { parts.append("detail: \(detail)") }
        if let hint { parts.append("hint: \(hint)") }
        if let constraint { parts.append("constraint: \(constraint)") }
        return parts.joined(separator: "; ")
    }
}
