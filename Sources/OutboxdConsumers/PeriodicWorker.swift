import Foundation
import OutboxdCore
import OutboxdPostgres
import Synchronization

/// A thread that owns a database connection and runs `work` on it until stopped: again at once
/// while `work` says more is due, otherwise after `interval` (or `wake()`). A failure is logged
/// and the connection replaced before the next round.
final class PeriodicWorker: Sendable {
    private let name: String
    private let database: PostgresPoolConfiguration
    private let interval: Duration
    private let logger: Logger
    private let work: @Sendable (PQConnection) throws -> Bool
    private let wakeup = Wakeup()
    private let running = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    init(name: String, database: PostgresPoolConfiguration, interval: Duration, logger: Logger,
         work: @escaping @Sendable (PQConnection) throws -> Bool) {
        self.name = name
        self.database = database
        self.interval = interval
        self.logger = logger
        self.work = work
    }

    func run() {
        running.store(true, ordering: .relaxed)
        let thread = Thread { [self] in
            loop()
            finished.signal()
        }
        thread.name = name
        thread.start()
    }

    func stop() {
        guard running.exchange(false, ordering: .relaxed) else { return }
        wakeup.wake()
        finished.wait()
    }

    private func loop() {
        var connection: PQConnection?
        while running.load(ordering: .relaxed) {
            do {
                if connection == nil || connection!.isBroken { connection = try database.connect() }
                if try work(connection!) { continue }
            } catch {
                connection?.close()
                connection = nil
                logger.warning("\(name) failed; retrying", ["error": "\(error)"])
            }
            wakeup.wait(timeout: interval)
        }
        connection?.close()
    }
}
