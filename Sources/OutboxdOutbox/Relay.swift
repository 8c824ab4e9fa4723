import Foundation
import OutboxdCore
import OutboxdKafka
import OutboxdPostgres
import Synchronization

/// Publishes outbox rows to Kafka, at least once, in commit order per key (DESIGN §4).
///
/// Loop: own shards (session advisory locks; a standby takes a shard over when its owner's
/// connection dies) → wait for a wake-up (in-process, a NOTIFY, or the poll interval; none after
/// a full batch) → in one transaction claim due rows of the owned shards, produce them, wait for
/// every delivery report, mark delivered rows published with partition and offset (or delete them
/// when no history is kept), failed rows with attempts+1 and a backoff (parked after
/// `maxAttempts`) → commit. A row is marked only after its report, so a crash at any point
/// re-sends (duplicates carry the same `ce_id`) but never loses an event.
public final class Relay: Sendable {
    public let configuration: RelayConfiguration
    private let database: PostgresPoolConfiguration
    private let producer: RDKafkaProducer
    public let wakeup = Wakeup()
    public let waiters = DeliveryWaiters()
    private let logger = Logger(label: "relay")
    private let control = Mutex(Control())
    private let finished = DispatchSemaphore(value: 0)
    private let progress = Mutex(RelayProgress())

    private struct Control {
        var running = false
        var drainDeadline: ContinuousClock.Instant?
    }

    public init(configuration: RelayConfiguration, database: PostgresPoolConfiguration, producer: RDKafkaProducer) {
        self.configuration = configuration
        self.database = database
        self.producer = producer
    }

    /// What the relay has done, for readiness, metrics and the watchdog.
    public var status: RelayProgress { progress.withLock { $0 } }

    /// Starts the relay thread, which owns its database connection.
    public func run() {
        control.withLock { $0.running = true }
        let thread = Thread { [self] in
            loop()
            finished.signal()
        }
        thread.name = "relay"
        thread.start()
    }

    /// Publishes what is due (bounded by `drainTimeout`), finishing the batch in flight, then
    /// stops the thread and releases the shards.
    public func stop(drainTimeout: Duration = .seconds(10)) {
        let wasRunning = control.withLock { control -> Bool in
            defer { control.drainDeadline = ContinuousClock.now + drainTimeout }
            return control.running
        }
        guard wasRunning else { return }
        wakeup.wake()
        finished.wait()
    }

    private func loop() {
        var connection: PQConnection?
        var owned: [Int] = []
        var lastTakeover: ContinuousClock.Instant?
        var lastPurge = ContinuousClock.now
        var failures = 0
        while true {
            let drainDeadline = control.withLock { $0.drainDeadline }
            if let drainDeadline, ContinuousClock.now >= drainDeadline { break }
            do {
                if connection == nil || connection!.isBroken {
                    connection = try database.connect()
                    try connection!.listen(configuration.channel)
                    owned = []
                    lastTakeover = nil
                }
                let session = connection!
                if owned.count < configuration.shards, lastTakeover.map({ ContinuousClock.now - $0 >= configuration.takeoverInterval }) ?? true {
                    let held = try OutboxStore(connection: session).acquire(shards: configuration.shards, owned: owned)
                    if held != owned { logger.notice("owning shards", ["shards": held.map(String.init).joined(separator: ","), "of": "\(configuration.shards)"]) }
                    owned = held
                    lastTakeover = ContinuousClock.now
                    progress.withLock { $0.ownedShards = held }
                }
                if owned.isEmpty {
                    if drainDeadline != nil { break }
                    wait(on: session, timeout: configuration.takeoverInterval)
                    continue
                }
                let claimed = try publishBatch(on: session, owned: owned)
                failures = 0
                if drainDeadline != nil {
                    if claimed == 0 { break }
                    continue
                }
                if ContinuousClock.now - lastPurge >= configuration.purgeInterval {
                    try purge(on: session)
                    lastPurge = ContinuousClock.now
                }
                if claimed < configuration.batchSize {
                    wait(on: session, timeout: configuration.pollInterval)
                }
            } catch {
                failures += 1
                connection?.close()
                connection = nil
                owned = []
                progress.withLock {
                    $0.lastError = "\(error)"
                    $0.ownedShards = []
                }
                if drainDeadline != nil { break }
                let delay = configuration.backoff.delay(afterFailures: failures, jitter: Double.random(in: 0...1))
                logger.warning("relay batch failed; retrying", ["error": "\(error)", "retry_in": "\(delay)"])
                wakeup.wait(timeout: min(delay, .seconds(5)))
            }
        }
        connection?.close()
    }

    /// Waits for a wake-up, a NOTIFY on the session, or `timeout`.
    private func wait(on session: PQConnection, timeout: Duration) {
        if wakeup.wait(timeout: timeout, socket: session.socketDescriptor).socketReadable {
            _ = try? session.drainNotifications()
        }
    }

    private func purge(on session: PQConnection) throws {
        guard configuration.retention > .zero else { return }
        let store = OutboxStore(connection: session)
        var purged = 0
        for _ in 0..<50 {
            let count = try store.purge(olderThan: configuration.retention, limit: 1000)
            purged += count
            if count < 1000 { break }
        }
        if purged > 0 { logger.info("purged published rows", ["rows": "\(purged)"]) }
    }

    /// One claim → produce → mark transaction; returns how many rows it claimed.
    func publishBatch(on connection: PQConnection, owned: [Int]) throws -> Int {
        let store = OutboxStore(connection: connection)
        let outcome: RelayBatchOutcome? = try connection.transaction {
            let rows = try store.claim(limit: configuration.batchSize, shards: configuration.shards, owned: owned)
            guard !rows.isEmpty else { return nil }
            let results = producer.send(rows.map { $0.message(source: configuration.eventSource) },
                                        timeout: configuration.deliveryTimeout)
            let outcome = RelayBatchOutcome(rows: rows, results: results)
            try store.markPublished(outcome.delivered, keep: configuration.retention > .zero)
            let backoff = configuration.backoff
            try store.markFailed(outcome.failed.map { failure in
                let delay = backoff.delay(afterFailures: failure.attempts, jitter: Double.random(in: 0...1))
                return (failure.id, failure.error, delay.wholeMilliseconds)
            }, maxAttempts: configuration.maxAttempts)
            return outcome
        }
        guard let outcome else { return 0 }
        if !waiters.isEmpty {
            waiters.complete(outcome.delivered.map { ($0.eventID, $0.partition, $0.offset) })
        }
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
        return outcome.delivered.count + outcome.failed.count + outcome.held.count
    }
}

/// Counters of the relay loop.
public struct RelayProgress: Sendable {
    public var batches = 0
    public var published = 0
    public var failed = 0
    public var ownedShards: [Int] = []
    public var lastBatchAt: Timestamp?
    public var lastError: String?
}
