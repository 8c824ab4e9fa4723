import Synchronization

/// A response that is not known yet: a handler returns `.later(deferred)` and whoever learns the
/// answer (another thread: a delivery report, a timer) calls `resolve`. The HTTP server holds the
/// connection meanwhile without a thread, so a request that waits (`Prefer: wait`) costs no worker.
public final class DeferredResponse: Sendable {
    private enum State {
        case pending([@Sendable (HTTPResponse) -> Void])
        case resolved(HTTPResponse)
    }

    private let state = Mutex(State.pending([]))

    public init() {}

    /// Sets the response; only the first call counts. Runs the callbacks on this thread.
    public func resolve(_ response: HTTPResponse) {
        let callbacks = state.withLock { state -> [@Sendable (HTTPResponse) -> Void]? in
            guard case .pending(let callbacks) = state else { return nil }
            state = .resolved(response)
            return callbacks
        }
        guard let callbacks else { return }
        callbacks.forEach { $0(response) }
    }

    /// Runs `body` with the response once it is resolved (at once when it already is).
    public func whenResolved(_ body: @escaping @Sendable (HTTPResponse) -> Void) {
        let resolved = state.withLock { state -> HTTPResponse? in
            switch state {
            case .pending(let callbacks):
                state = .pending(callbacks + [body])
                return nil
            case .resolved(let response):
                return response
            }
        }
        if let resolved { body(resolved) }
    }
}

extension HTTPResponse {
    /// A response resolved later by `deferred` (see `DeferredResponse`).
    public static func later(_ deferred: DeferredResponse) -> HTTPResponse {
        var response = HTTPResponse(status: 0)
        response.deferred = deferred
        return response
    }
}
