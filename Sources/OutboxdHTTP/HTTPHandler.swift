/// Answers complete requests. Called on the HTTP server's worker threads, several at once.
public protocol HTTPHandler: Sendable {
    func handle(_ request: HTTPRequest) -> HTTPResponse
    /// Whether `request` is answered at once without blocking (no database, no lock held for
    /// long), so the server may run it on its event loop instead of a worker: `/healthz` then
    /// answers while every worker is busy.
    func runsInline(_ request: HTTPRequest) -> Bool
}

extension HTTPHandler {
    public func runsInline(_ request: HTTPRequest) -> Bool { false }
}
