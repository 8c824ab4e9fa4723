import Foundation
import OutboxdCore
import Synchronization

/// Sends `NOTIFY <channel>` after commits, coalesced: however many commits signal it, at most one
/// notification leaves per `window`. Sent on its own connection after the commit, never inside
/// the writing transaction (which would serialise commits on a global lock: measured ~8.8k → ~3.1k
/// commits/s). Losing one is harmless: listeners also poll.
public final class OutboxNotifier: Sendable {
    private let database: PostgresPoolConfiguration
    private let channel: String
    private let window: Duration
    private let state = Mutex((pending: false, running: true))
    private let signal = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let logger = Logger(label: "notifier")

    public init(database: PostgresPoolConfiguration, channel: String, window: Duration = .milliseconds(2)) {
        self.database = database
        self.channel = channel
        self.window = window
    }

    public func start() {
        let thread = Thread { [self] in
            loop()
            finished.signal()
        }
        thread.name = "notifier"
        thread.start()
    }

    /// Called after a commit that wrote outbox rows; never blocks.
    public func notify() {
        let wasPending = state.withLock { state -> Bool in
            defer { state.pending = true }
            return state.pending
        }
        if !wasPending { signal.signal() }
    }

    public func stop() {
        state.withLock { $0.running = false }
        signal.signal()
        finished.wait()
    }

    private func loop() {
        var connection: PQConnection?
        while true {
            signal.wait()
            let (pending, running) = state.withLock { state -> (Bool, Bool) in
                defer { state.pending = false }
                return (state.pending, state.running)
            }
            if pending {
                do {
                    if connection == nil || connection!.isBroken { connection = try database.connect() }
                    try connection!.query("SELECT pg_notify($1, '')", [channel])
                } catch {
                    connection = nil
                    logger.debug("notify failed; relays fall back to polling", ["error": "\(error)"])
                }
            }
            guard running else { break }
            // Rate limit: commits in this window share the next notification.
            Thread.sleep(forTimeInterval: window.seconds)
        }
        connection?.close()
    }
}
