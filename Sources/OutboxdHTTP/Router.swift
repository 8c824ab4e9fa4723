/// Maps method and path to a handler closure. Patterns are literal segments or `{name}` captures:
/// `/tasks/{id}/history`. An unknown path gives 404, a known path with another method 405 + `Allow`.
///
/// With `authorization` set, every route not added as `open` runs only when it lets the request
/// through; otherwise its answer (a 401) is sent.
public struct Router: HTTPHandler {
    public typealias Route = @Sendable (HTTPRequest, [String: String]) -> HTTPResponse

    private struct Entry: Sendable {
        let method: String
        let pattern: String
        let segments: [String]
        let open: Bool
        let inline: Bool
        let route: Route
    }

    private var entries: [Entry] = []
    /// Checks a request for a protected route: nil lets it through, a response refuses it.
    public var authorization: (@Sendable (HTTPRequest) -> HTTPResponse?)?
    /// Told the route (`GET /tasks/{id}`, or `unmatched`), the response and how long it took.
    public var observer: (@Sendable (_ route: String, _ response: HTTPResponse, _ duration: Duration) -> Void)?

    public init() {}

    /// `inline`: the route never blocks (see `HTTPHandler.runsInline`).
    public mutating func add(_ method: String, _ pattern: String, open: Bool = false, inline: Bool = false, _ route: @escaping Route) {
        let segments = pattern.split(separator: "/").map(String.init)
        entries.append(Entry(method: method, pattern: pattern, segments: segments, open: open, inline: inline, route: route))
    }

    /// Every route added, as `METHOD /pattern` (`GET /tasks/{id}`), in the order added.
    public var routes: [String] { entries.map { "\($0.method) \($0.pattern)" } }

    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        guard let observer else { return dispatch(request).response }
        let started = ContinuousClock.now
        let (route, response) = dispatch(request)
        if let deferred = response.deferred {
            deferred.whenResolved { observer(route, $0, ContinuousClock.now - started) }
        } else {
            observer(route, response, ContinuousClock.now - started)
        }
        return response
    }

    public func runsInline(_ request: HTTPRequest) -> Bool {
        let path = request.pathSegments
        return entries.contains { $0.inline && ($0.method == request.method || ($0.method == "GET" && request.method == "HEAD"))
            && match($0.segments, path) != nil }
    }

    /// The response and the route that made it (`unmatched` for a 404 or 405).
    public func dispatch(_ request: HTTPRequest) -> (route: String, response: HTTPResponse) {
        let path = request.pathSegments
        var allowed: [String] = []
        for entry in entries {
            guard let captures = match(entry.segments, path) else { continue }
            if entry.method == request.method || (entry.method == "GET" && request.method == "HEAD") {
                let route = "\(entry.method) \(entry.pattern)"
                if !entry.open, let authorization, let refusal = authorization(request) { return (route, refusal) }
                return (route, entry.route(request, captures))
            }
            allowed.append(entry.method)
        }
        if allowed.isEmpty { return ("unmatched", .notFound("no route for \(request.path.prefix(200))")) }
        if allowed.contains("GET") { allowed.append("HEAD") }
        return ("unmatched", .methodNotAllowed(allowed: allowed))
    }

    private func match(_ pattern: [String], _ path: [Substring]) -> [String: String]? {
        guard pattern.count == path.count else { return nil }
        var captures: [String: String] = [:]
        for (expected, actual) in zip(pattern, path) {
            if expected.hasPrefix("{") && expected.hasSuffix("}") {
                captures[String(expected.dropFirst().dropLast())] = String(actual)
            } else if expected != actual {
                return nil
            }
        }
        return captures
    }
}
