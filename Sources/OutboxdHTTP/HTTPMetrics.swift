import OutboxdCore

/// Requests by route and status, and their duration by route. Routes are patterns
/// (`GET /tasks/{id}`), never raw paths, so the series stay few.
public struct HTTPMetrics: Sendable {
    public let requests = Counter("outboxd_http_requests_total", "HTTP requests answered, by route and status.", labels: ["route", "status"])
    public let duration = Histogram("outboxd_http_request_duration_seconds", "Time from a complete request to its response, by route.",
                                    labels: ["route"], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])

    public init() {}

    public var families: [any MetricsCollector] { [requests, duration] }

    public func record(route: String, response: HTTPResponse, duration: Duration) {
        requests.increment([route, String(response.status)])
        self.duration.observe(duration.seconds, [route])
    }
}
