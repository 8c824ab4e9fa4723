import OutboxdCore

/// A complete HTTP request as the handlers see it: the body is fully read and within the limit.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The decoded path without the query string, e.g. `/tasks/5f…`.
    public var path: String
    /// Query arguments in order; a key may repeat.
    public var query: [(name: String, value: String)]
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(method: String, path: String, query: [(name: String, value: String)] = [],
                headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    /// The path split on `/`, without empty segments: `/tasks/1` → `["tasks", "1"]`.
    public var pathSegments: [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }

    /// The media type of `Content-Type` without parameters, lowercased (`application/json`).
    public var mediaType: String? {
        guard let value = headers["content-type"] else { return nil }
        let type = value.split(separator: ";", maxSplits: 1).first ?? ""
        return type.trimmingOWS().lowercased()
    }
}

/// Request headers with case-insensitive names. A repeated header keeps its first value; every
/// line of a name stays readable through `values(_:)` (for list headers such as `tracestate`).
public struct HTTPHeaders: Sendable {
    private var storage: [String: [String]] = [:]

    public init() {}

    public init(_ pairs: [(String, String)]) {
        for (name, value) in pairs { add(name, value) }
    }

    public mutating func add(_ name: String, _ value: String) {
        storage[name.lowercased(), default: []].append(value)
    }

    public subscript(name: String) -> String? {
        storage[name.lowercased()]?.first
    }

    /// Every line of the header `name`, in the order received.
    public func values(_ name: String) -> [String] {
        storage[name.lowercased()] ?? []
    }
}
