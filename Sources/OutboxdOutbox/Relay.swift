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
///
/// The loop is a two-deep pipeline on two connections: while a batch's messages are in flight
/// (its transaction open, its rows locked), the next claim is sent as soon as more is due (at
/// once after a full batch; on a wake-up otherwise), SKIP LOCKED passing over the first batch;
/// the first batch's mark and COMMIT are sent while PostgreSQL runs that claim, the claimed rows
/// are produced, and only then is the mark's result read. A batch whose reports are all in before
/// more is due is recorded then, its result read when it arrives.
public final class Relay: Sendable {
    public let configuration: RelayConfiguration
    private let database: PostgresPoolConfiguration
    private let producer: RDKafkaProducer
    public let wakeup = Wakeup()
    /// Woken by the producer when the batch in flight has all its reports.
    private let reportsIn = Wakeup()
    public let waiters = DeliveryWaiters()
    private let logger = Logger(label: "relay")
    private let control = Mutex(Control())
    private let finished = DispatchSemaphore(value: 0)
    private let progress = Mutex(RelayProgress())
    public let metrics = RelayMetrics()
    /// Called once, from the relay thread, when the relay ends by itself: the producer hit a fatal
    /// error, so nothing more can be published until a new one (a restart) takes over.
    private let onFailure: @Sendable (String) -> Void
    /// Called on the relay thread after each batch that published events has committed (the
    /// daemon sends a coalesced NOTIFY, for `Prefer: wait` in other processes).
    private let afterPublished: @Sendable () -> Void

    private struct Control {
        var running = false
        var drainDeadline: ContinuousClock.Instant?
    }

    public init(configuration: RelayConfiguration, database: PostgresPoolConfiguration, producer: RDKafkaProducer,
                onFailure: @escaping @Sendable (String) -> Void = { _ in }, afterPublished: @escaping @Sendable () -> Void = {}) {
        self.configuration = configuration
        self.database = database
        self.producer = producer
        self.onFailure = onFailure
        self.afterPublished = afterPublished
    }

    /// How much longer than the delivery timeout (the producer's `message.timeout.ms`) the relay
    /// waits for a report: librdkafka gives up on the message and reports it first (it checks
    /// timeouts about once a second), so a row is counted as failed only once its message can no
    /// longer be delivered. A row still without a report then is sent again, no attempt counted.
    static let reportGrace: Duration = .seconds(5)

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

    /// Fails with `RelayShardsError` when other relays run with another `shards` count; records
    /// this count when none runs. For start-up (a configuration error, exit 78): the relay
    /// thread checks again on every connection, and publishes nothing while the counts differ.
    public func checkShards() throws {
        let connection = try database.connect()
        defer { connection.close() }
        let agreement = try OutboxStore(connection: connection).joinRelays(shards: configuration.shards)
        if case .mismatch(let inUse) = agreement {
            throw RelayShardsError(configured: configuration.shards, inUse: inUse)
        }
        noteRecorded(agreement)
    }

    private func noteRecorded(_ agreement: ShardAgreement) {
        if case .recorded(let previous) = agreement, previous != configuration.shards {
            logger.notice("recorded the shard count", ["shards": "\(configuration.shards)", "previous": previous.map(String.init) ?? "none"])
        }
    }

    /// Publishes what is due (bounded by `drainTimeout`), finishing the batch in flight, then
    /// stops the thread and releases the shards. A second call returns at once.
    public func stop(drainTimeout: Duration = .seconds(10)) {
        let wasRunning = control.withLock { control -> Bool in
            defer { control.drainDeadline = ContinuousClock.now + drainTimeout }
            return control.running
        }
        guard wasRunning else { return }
        wakeup.wake()
        finished.wait()
        control.withLock { $0.running = false }
    }

    private func loop() {
        // lanes[0] LISTENs; shard locks may sit on either lane; both are closed together on any error.
        var lanes: [PQConnection] = []
        var inFlight: InFlightBatch?
        var recording: RecordingBatch?
        var owned: [Int] = []
        var lastTakeover: ContinuousClock.Instant?
        var lastPurge = ContinuousClock.now
        var failures = 0
        /// Whether lanes[0] holds the relays' shared lock with an agreed shard count.
        var joined = false
        var refusal: String?
        func closeLanes() {
            lanes.forEach { $0.close() }
            lanes = []
            inFlight = nil
            recording = nil
            owned = []
            joined = false
        }
        /// A lane with neither a batch in flight nor a recording; when both lanes are taken, the
        /// recording is read first.
        func freeLane() throws -> PQConnection {
            if inFlight != nil { try finishRecording(&recording) }
            let busy = inFlight?.connection ?? recording?.connection
            return busy === lanes[0] ? lanes[1] : lanes[0]
        }
        relayLoop: while true {
            progress.withLock { $0.heartbeat = ContinuousClock.now }
            let drainDeadline = control.withLock { $0.drainDeadline }
            if let drainDeadline, ContinuousClock.now >= drainDeadline { break }
            if let fatal = producer.fatalError {
                stopForFatal(fatal)
                break
            }
            do {
                if lanes.isEmpty || lanes.contains(where: \.isBroken) {
                    closeLanes()
                    lanes = [try database.connect(), try database.connect()]
                    for lane in lanes { try lane.executeScript(Self.laneSettings) }
                    try lanes[0].listen(configuration.channel)
                    lastTakeover = nil
                }
                if !joined {
                    // A count other than the running relays' would lock other keys for the same rows.
                    let agreement = try OutboxStore(connection: lanes[0]).joinRelays(shards: configuration.shards)
                    if case .mismatch(let inUse) = agreement {
                        let error = RelayShardsError(configured: configuration.shards, inUse: inUse)
                        if refusal != error.description { logger.error("relay publishes nothing: shard count differs", ["error": error.description]) }
                        refusal = error.description
                        progress.withLock {
                            $0.lastError = error.description
                            $0.ownedShards = []
                        }
                        if drainDeadline != nil { break relayLoop }
                        wait(on: lanes[0], timeout: configuration.takeoverInterval)
                        continue
                    }
                    noteRecorded(agreement)
                    if refusal != nil { progress.withLock { $0.lastError = nil } }
                    refusal = nil
                    joined = true
                }
                if owned.count < configuration.shards, lastTakeover.map({ ContinuousClock.now - $0 >= configuration.takeoverInterval }) ?? true {
                    let held = try OutboxStore(connection: try freeLane()).acquire(shards: configuration.shards, owned: owned)
                    if held != owned { logger.notice("owning shards", ["shards": held.map(String.init).joined(separator: ","), "of": "\(configuration.shards)"]) }
                    owned = held
                    lastTakeover = ContinuousClock.now
                    progress.withLock { $0.ownedShards = held }
                }
                if owned.isEmpty {
                    if drainDeadline != nil { break }
                    wait(on: lanes[0], timeout: configuration.takeoverInterval)
                    continue
                }
                if drainDeadline == nil, ContinuousClock.now - lastPurge >= configuration.purgeInterval {
                    try finishRecording(&recording)
                    if let batch = inFlight {
                        inFlight = nil
                        _ = try finish(batch)
                    }
                    try purge(on: lanes[0])
                    lastPurge = ContinuousClock.now
                }
                let claimed = try pump(on: try freeLane(), owned: owned, inFlight: &inFlight, recording: &recording)
                failures = 0
                if drainDeadline != nil {
                    if claimed == 0 { break }
                    continue
                }
                if claimed < configuration.batchSize {
                    try waitForWork(on: lanes[0], inFlight: &inFlight, recording: &recording)
                }
            } catch {
                failures += 1
                closeLanes()
                progress.withLock {
                    $0.lastError = RelayProgress.safeSummary(of: error)
                    $0.ownedShards = []
                }
                if drainDeadline != nil { break }
                let delay = configuration.backoff.delay(afterFailures: failures, jitter: Double.random(in: 0...1))
                logger.warning("relay batch failed; retrying", ["error": "\(error)", "retry_in": "\(delay)"])
                wakeup.wait(timeout: min(delay, .seconds(5)))
            }
        }
        do {
            try finishRecording(&recording)
            if let batch = inFlight { _ = try finish(batch) }
        } catch {
            logger.warning("last batch not recorded; it will be sent again", ["error": "\(error)"])
        }
        closeLanes()
    }

    /// A fatal producer error ends the loop: rows of the batches in flight stay pending without an
    /// attempt counted (`RelayBatchOutcome` holds `_FATAL` failures), so none burns its attempts
    /// against a producer that can deliver nothing, and a restart publishes them.
    private func stopForFatal(_ fatal: KafkaError) {
        let reason = "Kafka producer fatal error \(fatal.code.name): \(fatal.message)"
        logger.error("fatal producer error: the relay stops; a new producer (a restart) must take over",
                     ["code": fatal.code.name, "error": fatal.message])
        progress.withLock { $0.lastError = "Kafka producer fatal error \(fatal.code.name)" }
        onFailure(reason)
    }

    /// The relay's commits only record deliveries: one lost in a crash means the rows are sent
    /// again (at least once still holds), so they need not wait for the WAL flush.
    static let laneSettings = "SET synchronous_commit = off"

    /// Waits until more may be due (a wake-up, a NOTIFY on `session`, the poll interval). Meanwhile
    /// the batch in flight is recorded as soon as its reports are all in (sent without waiting),
    /// and a recording's results are read as soon as they arrive.
    private func waitForWork(on session: PQConnection, inFlight: inout InFlightBatch?, recording: inout RecordingBatch?) throws {
        let until = ContinuousClock.now + configuration.pollInterval
        while case let now = ContinuousClock.now, now < until {
            let sockets = [session.socketDescriptor, recording?.connection.socketDescriptor ?? -1]
            let (woken, readable) = Wakeup.wait(for: [wakeup, reportsIn], timeout: until - now, sockets: sockets)
            if readable[1] { try finishRecording(&recording) }
            // The LISTEN lane may also have been the recording's: only notifications count.
            let notified = readable[0] && ((try? session.drainNotifications()) ?? 0) > 0
            if let batch = inFlight, batch.deliveries.isComplete {
                inFlight = nil
                try finishRecording(&recording)
                recording = try startRecording(batch)
            }
            if woken[0] || notified { return }
        }
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

    /// Starts the next batch on `lane` (a free one) and records the batch before it on the other:
    /// the next claim is sent first, so PostgreSQL runs it while the relay waits for the previous
    /// batch's reports and sends its mark; the claimed rows are produced as soon as they arrive,
    /// and only then is the mark's result read, so neither round trip delays the next produce. The
    /// new batch stays in flight, so its deliveries overlap the next claim. Returns the rows claimed.
    func pump(on lane: PQConnection, owned: [Int], inFlight: inout InFlightBatch?, recording: inout RecordingBatch?) throws -> Int {
        // A claim that cannot be sent closes the lane (PQConnection.startPipeline), which rolls it back.
        let claim = try OutboxStore(connection: lane).startClaim(limit: configuration.batchSize, shards: configuration.shards, owned: owned)
        var blocked: Set<String> = []
        if let previous = inFlight {
            inFlight = nil
            try finishRecording(&recording)
            let started = try startRecording(previous)
            recording = started
            blocked = started.outcome.blockedKeys
        }
        let next = try start(on: lane, claim: claim, holding: blocked)
        inFlight = next
        try finishRecording(&recording)
        return next?.rows.count ?? 0
    }

    /// Reads the claimed rows and produces them, except those of `heldKeys`; nil (and COMMIT) when
    /// none is due.
    private func start(on lane: PQConnection, claim: PendingPipeline, holding heldKeys: Set<String>) throws -> InFlightBatch? {
        do {
            let rows = try OutboxStore(connection: lane).finishClaim(claim)
            guard !rows.isEmpty else {
                try lane.commit()
                return nil
            }
            let sending = RelayBatchOutcome.toProduce(rows, heldKeys: heldKeys)
            for row in sending { row.logDroppedHeaders(logger) }
            let messages = sending.map { $0.message(source: configuration.eventSource) }
            let producedAt = Timestamp.now()
            let deliveries = producer.produce(messages) { [reportsIn] in reportsIn.wake() }
            return InFlightBatch(connection: lane, rows: rows, deliveries: deliveries, producedAt: producedAt, heldKeys: heldKeys)
        } catch {
            lane.rollbackIfPossible()
            throw error
        }
    }

    /// The batch's delivery reports, waiting at most the delivery timeout and `reportGrace`, or
    /// less when a stop's drain deadline comes first (checked every 100 ms). Rows still without a
    /// report are left pending, not counted as failed (`RelayBatchOutcome`).
    private func awaitReports(_ batch: InFlightBatch) -> [DeliveryResult] {
        let timeout = ContinuousClock.now + configuration.deliveryTimeout + Self.reportGrace
        while true {
            let drainDeadline = control.withLock { $0.drainDeadline }
            let until = min(timeout, drainDeadline ?? timeout)
            let now = ContinuousClock.now
            if now >= until || batch.deliveries.wait(upTo: min(until - now, .milliseconds(100))) {
                return batch.deliveries.results(waitingUpTo: .zero)
            }
        }
    }

    /// Waits for the batch's delivery reports, marks its rows and commits. Returns the keys it
    /// blocked (failed or held rows).
    private func finish(_ batch: InFlightBatch) throws -> Set<String> {
        let started = try startRecording(batch)
        var recording: RecordingBatch? = started
        try finishRecording(&recording)
        return started.outcome.blockedKeys
    }

    /// Waits for the batch's delivery reports and sends what records them (mark or delete,
    /// failures, COMMIT) without waiting for the results. A pipeline that cannot be sent closes
    /// the connection, which rolls the transaction back.
    private func startRecording(_ batch: InFlightBatch) throws -> RecordingBatch {
        let results = awaitReports(batch)
        let outcome = RelayBatchOutcome(rows: batch.rows, results: results, heldKeys: batch.heldKeys,
                                        producerFailed: producer.fatalError != nil)
        let backoff = configuration.backoff
        let pending = try OutboxStore(connection: batch.connection).startRecord(
            delivered: outcome.delivered, keep: configuration.retention > .zero,
            failed: outcome.failed.map { failure in
                let delay = backoff.delay(afterFailures: failure.attempts, jitter: Double.random(in: 0...1))
                return (failure.id, failure.error, delay.wholeMilliseconds, failure.park)
            },
            maxAttempts: configuration.maxAttempts)
        return RecordingBatch(batch: batch, outcome: outcome, pending: pending)
    }

    /// Reads the results of `recording`, if any, and clears it; once committed, the batch counts
    /// (metrics, waiters, logs).
    private func finishRecording(_ recording: inout RecordingBatch?) throws {
        guard let sent = recording else { return }
        recording = nil
        let batch = sent.batch, outcome = sent.outcome
        do {
            try OutboxStore(connection: batch.connection).finishRecord(sent.pending)
        } catch {
            batch.connection.rollbackIfPossible()
            throw error
        }
        if !waiters.isEmpty {
            waiters.complete(outcome.delivered.map { ($0.eventID, $0.partition, $0.offset) })
        }
        if !outcome.delivered.isEmpty { afterPublished() }
        metrics.batchSize.observe(Double(batch.rows.count))
        metrics.latency.observe(outcome.latencies)
        metrics.kafkaAck.observe(outcome.delivered.map { Double($0.reportedAt.microsecondsSinceEpoch - batch.producedAt.microsecondsSinceEpoch) / 1_000_000 })
        for (topic, count) in outcome.deliveredPerTopic { metrics.published.increment([topic], by: Double(count)) }
        for failure in outcome.failed {
            let parked = failure.park || failure.attempts >= configuration.maxAttempts
            metrics.failures.increment([failure.reason])
            if parked { metrics.parked.increment() }
            logger.log(parked ? .error : .warning, parked ? "event parked" : "event not delivered; will retry",
                       ["outbox_id": "\(failure.id)", "attempts": "\(failure.attempts)", "error": failure.error])
        }
        progress.withLock {
            $0.batches += 1
            $0.published += outcome.delivered.count
            $0.failed += outcome.failed.count
            $0.lastBatchAt = Timestamp.now()
        }
    }
}

/// Counters of the relay loop.
public struct RelayProgress: Sendable {
    public var batches = 0
    public var published = 0
    public var failed = 0
    public var ownedShards: [Int] = []
    public var lastBatchAt: Timestamp?
    /// When the loop last went round (also while idle: at least once per poll interval); a stale
    /// heartbeat means the relay is stuck (the systemd watchdog stops).
    public var heartbeat = ContinuousClock.now
    /// Why the last round failed, safe to show (`RelayProgress.safeSummary`); details are logged.
    public var lastError: String?
}

