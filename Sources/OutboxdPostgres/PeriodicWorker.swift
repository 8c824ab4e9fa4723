import OutboxdCore

/// One round of a background job (sending notifications, firing reminders, purging the outbox's
/// history) on the connection of the `PeriodicWorker` that runs it.
public protocol PeriodicJob: Sendable {
    /// The thread's name and the log label.
    var name: String { get }
    /// Does what is due; true when more is due at once.
    func runOnce(on connection: PQConnection) throws -> Bool
}

/// A `WorkerThread` that owns a database connection and runs a job on it until stopped: again at
/// once while the job says more is due, otherwise after `interval`. A failure is logged and the
/// connection replaced before the next round; `stop` lets the round in progress finish.
public final class PeriodicWorker: Worker {
    public let job: any PeriodicJob
    private let thread: WorkerThread

    public init(job: any PeriodicJob, database: PostgresPoolConfiguration, interval: Duration) {
        self.job = job
        let logger = Logger(label: job.name)
        thread = WorkerThread(name: job.name) { signal in
            var connection: PQConnection?
            defer { connection?.close() }
            while !signal.isStopping {
                do {
                    if connection == nil || connection!.isBroken { connection = try database.connect() }
                    if try job.runOnce(on: connection!) { continue }
                } catch {
                    connection?.close()
                    connection = nil
                    logger.warning("\(job.name) failed; retrying", ["error": "\(error)"])
                }
                signal.wait(timeout: interval)
            }
        }
    }

    public var name: String { thread.name }
    public var phase: WorkerState.Phase { thread.phase }

    public func start(ended: @escaping @Sendable (WorkerEnd) -> Void) {
        thread.start(ended: ended)
    }

    /// Starts the thread (its end by itself is seen only in `phase`).
    public func run() { thread.start(ended: { _ in }) }

    @discardableResult
    public func stop(deadline: ContinuousClock.Instant?) -> Bool {
        thread.stop(deadline: deadline)
    }
}
