/// What the HTTP server is doing, for `/metrics`, `/readyz` and the watchdog.
public struct HTTPServerStatus: Sendable {
    public var connections = 0
    public var maxConnections = 0
    /// New connections refused, by reason, since start.
    public var refused: [ConnectionTable.Refusal: Int] = [:]
    /// Connections closed because their request was not complete within `HTTP_REQUEST_TIMEOUT`.
    public var requestTimeouts = 0
    /// Complete requests waiting for a worker.
    public var queued = 0
    /// Workers running a handler now.
    public var busyWorkers = 0
    public var workers = 0
    /// Requests whose answer waits for something else (`Prefer: wait`), holding no worker.
    public var deferred = 0
    /// When the oldest running handler began.
    public var oldestHandlerSince: ContinuousClock.Instant?
    /// When the event loop last went round (it goes round at least every 50 ms).
    public var lastLoopTurn: ContinuousClock.Instant = .now

    /// Whether a new connection would be refused now for the total limit.
    public var isFull: Bool { connections >= maxConnections }

    /// Why the server is stuck, or nil: its event loop has not gone round for `loopStuckAfter`, or a
    /// handler has run for `handlerStuckAfter`. A server at its connection limit is full, not stuck.
    public func stuck(now: ContinuousClock.Instant, loopStuckAfter: Duration, handlerStuckAfter: Duration) -> String? {
        let quiet = now - lastLoopTurn
        if quiet >= loopStuckAfter { return "HTTP event loop has not gone round for \(Int(quiet.components.seconds)) s" }
        if let since = oldestHandlerSince, now - since >= handlerStuckAfter {
            return "an HTTP handler has run for \(Int((now - since).components.seconds)) s"
        }
        return nil
    }
}
