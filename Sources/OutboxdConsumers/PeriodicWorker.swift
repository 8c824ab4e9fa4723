import Foundation
import OutboxdCore
import OutboxdPostgres
import Synchronization

/// One round of a background job (sending notifications, firing reminders) on the connection of
/// the `PeriodicWorker` that runs it.
public protocol PeriodicJob: Sendable {
    /// The thread's name and the log label.
    var name: String { get }
    /// Does what is due; true when more is due at once.
    func runOnce(on connection: PQConnection) throws -> Bool
}

/// A thread that owns a database connection and runs a job on it until stopped: again at once
/// while the job says more is due, otherwise after `interval`. A failure is logged and the
/// connection replaced before the next round.
public final class PeriodicWorker: Sendable {
    private let job: any PeriodicJob
    private let database: PostgresPoolConfiguration
    private let interval: Duration
    private let logger: Logger
    private let wakeup = Wakeup()
    private let running = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    public init(job: any PeriodicJob, database: PostgresPoolConfiguration, interval: Duration) {
        self.job = job
        self.database = database
        self.interval = interval
        logger = Logger(label: job.name)
    }

    /// Starts the thread.
    public func run() {
        running.store(true, ordering: .relaxed)
        let thread = Thread { [self] in
            loop()
            finished.signal()
        }
        thread.name = job.name
        thread.start()
    }

    /// Finishes the round in progress, then ends the thread and closes its connection.
    public func stop() {
        guard running.exchange(false, ordering: .relaxed) else { return }
        wakeup.wake()
        finished.wait()
    }

    private func loop() {
        var connection: PQConnection?
        while running.load(ordering: .relaxed) {
            do {
                if connection == nil || connection!.isBroken { connection = try database.connect() }
                if try job.runOnce(on: connection!) { continue }
            } catch {
                connection?.close()
                connection = nil
                logger.warning("\(job.name) failed; retrying", ["error": "\(error)"])
            }
            wakeup.wait(timeout: interval)
        }
        connection?.close()
    }
}
