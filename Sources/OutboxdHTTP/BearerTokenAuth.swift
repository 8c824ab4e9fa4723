/// `Authorization: Bearer <token>` against a set of accepted tokens. Every token is compared in
/// full, byte by byte without an early exit, so the time taken does not tell how much of a guess
/// was right.
public struct BearerTokenAuth: Sendable {
    private let tokens: [[UInt8]]

    public init(tokens: [String]) {
        self.tokens = tokens.map { Array($0.utf8) }
    }

    /// nil when the request carries an accepted token; else 401 problem+json with `WWW-Authenticate`.
    public func check(_ request: HTTPRequest) -> HTTPResponse? {
        guard let header = request.headers["authorization"] else {
            return Self.unauthorized("this endpoint needs an Authorization: Bearer <token> header", error: nil)
        }
        let scheme = "bearer "
        guard header.count > scheme.count, header.prefix(scheme.count).lowercased() == scheme else {
            return Self.unauthorized("the Authorization header must use the Bearer scheme", error: "invalid_request")
        }
        let presented = Array(header.dropFirst(scheme.count).utf8)
        var accepted = false
        for token in tokens where Self.constantTimeEquals(token, presented) { accepted = true }
        return accepted ? nil : Self.unauthorized("the bearer token is not accepted", error: "invalid_token")
    }

    /// Equal bytes; the time depends only on the longer length.
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt(bitPattern: a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= UInt(x ^ y)
        }
        return difference == 0
    }

    static func unauthorized(_ detail: String, error: String?) -> HTTPResponse {
        var challenge = "Bearer realm=\"outboxd\""
        if let error { challenge += ", error=\"\(error)\"" }
        return .problem(401, title: "Unauthorized", detail: detail, headers: [("WWW-Authenticate", challenge)])
    }
}
