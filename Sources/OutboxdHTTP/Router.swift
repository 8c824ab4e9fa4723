/// Maps method and path to a handler closure. Patterns are literal segments or `{name}` captures:
/// `/tasks/{id}/history`. An unknown path gives 404, a known path with another method 405 + `Allow`.
public struct Router: HTTPHandler {
    public typealias Route = @Sendable (HTTPRequest, [String: String]) -> HTTPResponse

    private struct Entry: Sendable {
        let method: String
        let segments: [String]
        let route: Route
    }

    private var entries: [Entry] = []

    public init() {}

    public mutating func add(_ method: String, _ pattern: String, _ route: @escaping Route) {
        let segments = pattern.split(separator: "/").map(String.init)
        entries.append(Entry(method: method, segments: segments, route: route))
    }

    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        let path = request.pathSegments
        var allowed: [String] = []
        for entry in entries {
            guard let captures = match(entry.segments, path) else { continue }
            if entry.method == request.method || (entry.method == "GET" && request.method == "HEAD") {
                return entry.route(request, captures)
            }
            allowed.append(entry.method)
        }
        if allowed.isEmpty { return .notFound("no route for \(request.path.prefix(200))") }
        if allowed.contains("GET") { allowed.append("HEAD") }
        return .methodNotAllowed(allowed: allowed)
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
