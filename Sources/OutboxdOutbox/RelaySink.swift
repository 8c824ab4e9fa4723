import OutboxdCore
import OutboxdKafka
import OutboxdPostgres
import Synchronization

/// The relay's one sink, fed by two sources (docs/ARCHITECTURE.md, "Sources and the sink"): the
/// claim (`Relay`: rows of the outbox's queue) and the stream (`WalSource`: events emitted with
/// `outbox_emit_message`, which have no row). It produces their events as records, decides each
/// one's outcome from its delivery report (`RelayBatchOutcome`, the same rules for both), records
/// that outcome in the outbox, and counts it: metrics, delivery waiters, published counts, logs.
///
/// It knows Kafka and the outbox's own statements (`OutboxStore`), and no source's SQL: the claim
/// records on the session that claimed (the record commits the claim's transaction), the stream
/// on a plain session. Neither source touches the producer.
public final class RelaySink: Sendable {
    public let configuration: RelayConfiguration
    private let producer: RDKafkaProducer
    public let metrics: RelayMetrics
    /// Requests waiting for their event's delivery (`Prefer: wait`).
    public let waiters: DeliveryWaiters
    /// Called after each record that published events has committed (the daemon sends a
    /// coalesced NOTIFY, for `Prefer: wait` in other processes).
    private let afterPublished: @Sendable () -> Void
    /// Both sources' published counts, written at most once a second (`PublishedCounts`).
    private let counts = Mutex(PublishedCounts())
    let logger = Logger(label: "relay")

    public init(configuration: RelayConfiguration, producer: RDKafkaProducer, metrics: RelayMetrics = RelayMetrics(),
                waiters: DeliveryWaiters = DeliveryWaiters(), afterPublished: @escaping @Sendable () -> Void = {}) {
        self.configuration = configuration
        self.producer = producer
        self.metrics = metrics
        self.waiters = waiters
        self.afterPublished = afterPublished
    }

    /// The producer's fatal error: nothing more can be published until a new producer takes over.
    var fatalError: KafkaError? { producer.fatalError }

    /// Produces `rows` in order without waiting, each key's rows chained (a produce-time failure
    /// stops the later ones of its key). `onComplete` runs once every report is in.
    func produce(_ rows: [OutboxRow], onComplete: @escaping @Sendable () -> Void) -> DeliveryBatch {
        for row in rows { row.logDroppedHeaders(logger) }
        let format = configuration.format
        var chainOfKey: [String: Int] = [:]
        chainOfKey.reserveCapacity(rows.count)
        let chains = rows.map { row in chainOfKey.firstValue(for: row.aggregateID, storing: chainOfKey.count) }
        return producer.produce(rows.map { $0.message(format) }, chains: chains, onComplete: onComplete)
    }

    /// The published counts due now (every one on `flush`), with `perTopic` added.
    func dueCounts(adding perTopic: [String: Int], now: ContinuousClock.Instant, flush: Bool = false) -> [String: Int] {
        counts.withLock { $0.add(perTopic, now: now, flush: flush) }
    }

    /// Counts taken by `dueCounts` and not written: they go with the next write.
    func restoreCounts(_ perTopic: [String: Int]) {
        counts.withLock { $0.restore(perTopic) }
    }

    /// Sends what records a claimed batch's `outcome` on `store`, the claim's session: delivered
    /// rows marked (or deleted when no history is kept), failed ones with their next attempt, the
    /// published counts due, and COMMIT, without waiting for the results (`OutboxStore.finishRecord`).
    func startRecord(_ outcome: RelayBatchOutcome, claimed: [Int64], on store: OutboxStore, flush: Bool) throws -> PendingPipeline {
        let backoff = configuration.backoff
        return try store.startRecord(
            claimed: claimed, delivered: outcome.delivered, keep: configuration.retention > .zero,
            failed: outcome.failed.map { failure in
                let delay = backoff.delay(afterFailures: failure.attempts, jitter: Double.random(in: 0...1))
                return (failure.id, failure.error, delay.wholeMilliseconds, failure.park)
            },
            maxAttempts: configuration.maxAttempts,
            publishedPerTopic: dueCounts(adding: outcome.deliveredPerTopic, now: .now, flush: flush))
    }

    /// What a committed record changed, for the source's progress.
    struct Counted {
        /// Whether some failure was parked.
        var parked = false
        /// The first failure to be retried: what the batch waits on.
        var retried: (id: Int64, reason: String)?
    }

    /// Counts a committed record of a claimed batch (`claimed` rows, produced at `producedAt`):
    /// waiters, the NOTIFY for other processes, metrics, logs.
    func counted(_ outcome: RelayBatchOutcome, claimed: Int, producedAt: Timestamp) -> Counted {
        metrics.batchSize.observe(Double(claimed))
        metrics.kafkaAck.observe(outcome.delivered.map { Double($0.reportedAt.microsecondsSinceEpoch - producedAt.microsecondsSinceEpoch) / 1_000_000 })
        countDelivered(outcome)
        var counted = Counted()
        for failure in outcome.failed {
            let parked = failure.park || failure.attempts >= configuration.maxAttempts
            metrics.failures.increment([failure.reason])
            if parked { metrics.parked.increment() }
            counted.parked = counted.parked || parked
            if !parked, counted.retried == nil { counted.retried = (failure.id, failure.reason) }
            logger.log(parked ? .error : .warning, parked ? "event parked" : "event not delivered; will retry",
                       ["outbox_id": "\(failure.id)", "attempts": "\(failure.attempts)", "error": failure.error])
        }
        return counted
    }

    /// Counts the delivered events of a committed record, of either source; `notify`: calls
    /// `afterPublished`; `naming` gives the log field that names the event of an id in `outcome`.
    func countDelivered(_ outcome: RelayBatchOutcome, notify: Bool = true,
                        naming: (Int64) -> (field: String, value: String) = { ("outbox_id", "\($0)") }) {
        if !waiters.isEmpty {
            waiters.complete(outcome.delivered.compactMap { row in row.eventID.map { ($0, row.partition, row.offset) } })
        }
        if notify, !outcome.delivered.isEmpty { afterPublished() }
        for id in outcome.orderGaps {
            metrics.orderGaps.increment()
            logger.warning("event delivered after an earlier event of its key failed (a gap the idempotent producer left); recorded as delivered",
                           [naming(id).field: naming(id).value])
        }
        metrics.latency.observe(outcome.latencies)
        for (topic, count) in outcome.deliveredPerTopic { metrics.published.increment([topic], by: Double(count)) }
    }
}
