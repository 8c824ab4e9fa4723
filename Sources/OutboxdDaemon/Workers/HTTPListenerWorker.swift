import OutboxdCore
import OutboxdHTTP

/// An `MHDServer` (the API or the metrics listener) as a `Worker` of the daemon's group: started
/// by `start`, which throws when the address cannot be bound; stopped within what is left of the
/// deadline, at most `longestStop` (the metrics listener has nothing to finish).
final class HTTPListenerWorker: Worker {
    let name: String
    let server: MHDServer
    private let longestStop: Duration?

    init(name: String, server: MHDServer, longestStop: Duration? = nil) {
        self.name = name
        self.server = server
        self.longestStop = longestStop
    }

    func start(ended: @escaping @Sendable (WorkerEnd) -> Void) throws {
        try server.start()
    }

    @discardableResult
    func stop(deadline: ContinuousClock.Instant?) -> Bool {
        var timeout = deadline.map { max($0 - .now, .zero) } ?? .seconds(3600)
        if let longestStop { timeout = min(timeout, longestStop) }
        server.stop(timeout: timeout)
        return true
    }
}
