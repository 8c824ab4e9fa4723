import Foundation
import OutboxdCore
import OutboxdKafka
import OutboxdPostgres
import Synchronization

/// Publishes outbox rows to Kafka, at least once, in commit order per key (DESIGN §4).
///
/// Loop: wait for a wake-up (or the poll interval; no wait after a full batch) → in one
/// transaction claim due rows, produce them, wait for every delivery report, mark delivered rows
/// published with partition and offset, failed rows with attempts+1 and a backoff (parked after
/// `maxAttempts`) → commit. A row is marked only after its report, so a crash at any point
/// re-sends (duplicates, identifiable by `ce_id`) but never loses an event.
public final class Relay: Sendable {
    public let configuration: RelayConfiguration
    private let database: PostgresPoolConfiguration
    private let producer: RDKafkaProducer
    public let wakeup = RelayWakeup()
    private let logger = Logger(label: "relay")
    private let running = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let progress = Mutex(RelayProgress())

    public init(configuration: RelayConfiguration, database: PostgresPoolConfiguration, producer: RDKafkaProducer) {
        self.configuration = configuration
        self.database = database
        self.producer = producer
    }

    /// What the relay has done, for readiness and metrics.
    public var status: RelayProgress { progress.withLock { $0 } }

    /// Starts the relay thread, which owns its database connection.
    public func run() {
        running.store(true, ordering: .releasing)
        let thread = Thread { [self] in
            loop()
            finished.signal()
        }
        thread.name = "relay"
        thread.start()
    }

    /// Lets the current batch finish (its reports and marks), then stops the thread.
    public func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        wakeup.wake()
        finished.wait()
    }

    private func loop() {
        var connection: PQConnection?
        var failures = 0
        while running.load(ordering: .acquiring) {
            do {
                if connection == nil || connection!.isBroken {
                    connection = try database.connect()
                }
                let claimed = try publishBatch(on: connection!)
                failures = 0
                if claimed < configuration.batchSize {
                    wakeup.wait(timeout: configuration.pollInterval)
                }
            } catch {
                failures += 1
                connection?.close()
                connection = nil
                let delay = configuration.backoff.delay(afterFailures: failures, jitter: Double.random(in: 0...1))
                logger.warning("relay batch failed; retrying", ["error": "\(error)", "retry_in": "\(delay)"])
                progress.withLock { $0.lastError = "\(error)" }
                wakeup.wait(timeout: min(delay, .seconds(5)))
            }
        }
        connection?.close()
    }

    /// One claim → produce → mark transaction; returns how many rows it claimed.
    func publishBatch(on connection: PQConnection) throws -> Int {
        let store = OutboxStore(connection: connection)
        return try connection.transaction {
            let rows = try store.claim(limit: configuration.batchSize)
            guard !rows.isEmpty else { return 0 }
            let results = producer.send(rows.map { $0.message(source: configuration.eventSource) },
                                        timeout: configuration.deliveryTimeout)
            let outcome = RelayBatchOutcome(rows: rows, results: results)
            try store.markPublished(outcome.delivered)
            let backoff = configuration.backoff
            try store.markFailed(outcome.failed.map { failure in
                let delay = backoff.delay(afterFailures: failure.attempts, jitter: Double.random(in: 0...1))
                return (failure.id, failure.error, delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000)
            }, maxAttempts: configuration.maxAttempts)
            for failure in outcome.failed {
                let parked = failure.attempts >= configuration.maxAttempts
                logger.log(parked ? .error : .warning, parked ? "event parked" : "event not delivered; will retry",
                           ["outbox_id": "\(failure.id)", "attempts": "\(failure.attempts)", "error": failure.error])
            }
            progress.withLock {
                $0.batches += 1
                $0.published += outcome.delivered.count
                $0.failed += outcome.failed.count
                $0.lastBatchAt = Timestamp.now()
            }
            return rows.count
        }
    }
}

/// Counters of the relay loop.
public struct RelayProgress: Sendable {
    public var batches = 0
    public var published = 0
    public var failed = 0
    public var lastBatchAt: Timestamp?
    public var lastError: String?
}
