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
    private let wakeup = Wakeup()
    private let running = Atomic<Bool>(true)
    /// Set by `start`, cleared by the first `stop`: a stop before start, or a second one, returns at once.
    private let started = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let logger = Logger(label: "notifier")

    public init(database: PostgresPoolConfiguration, channel: String, window: Duration = .milliseconds(2)) {
        self.database = database
        self.channel = channel
        self.window = window
    }

    public func start() {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let thread = Thread { [self] in
            loop()
            finished.signal()
        }
        thread.name = "notifier"
        thread.start()
    }

    /// Called after a commit that wrote outbox rows; never blocks.
    public func notify() {
        wakeup.wake()
    }

    /// Sends one last notification (commits may have just signalled; an extra one is harmless:
    /// a relay runs one empty claim), then ends the thread.
    public func stop() {
        guard started.exchange(false, ordering: .acquiringAndReleasing) else { return }
        running.store(false, ordering: .releasing)
        wakeup.wake()
        finished.wait()
    }

    private func loop() {
        var connection: PQConnection?
        while true {
            let woken = wakeup.wait(timeout: .seconds(3600)).woken
            if woken {
                do {
                    if connection == nil || connection!.isBroken { connection = try database.connect() }
                    try connection!.query("SELECT pg_notify($1, '')", [channel])
                } catch {
                    connection = nil
                    logger.debug("notify failed; relays fall back to polling", ["error": "\(error)"])
                }
            }
            guard running.load(ordering: .acquiring) else { break }
            // Rate limit: commits in this window share the next notification.
            Thread.sleep(forTimeInterval: window.seconds)
        }
        connection?.close()
    }
}
