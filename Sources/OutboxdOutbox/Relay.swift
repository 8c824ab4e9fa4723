import Foundation
import OutboxdCore
import OutboxdKafka
import OutboxdPostgres
import Synchronization

/// Publishes outbox rows to Kafka, at least once, in commit order per key (docs/ARCHITECTURE.md).
///
/// The relay thread owns two connections (lanes) and the shards it holds (session advisory locks;
/// a standby takes a shard over when its owner's connection dies). It waits for a wake-up
/// (in-process, a NOTIFY, or the poll interval; none after a full batch), claims due rows of its
/// shards in a transaction, produces them, waits for every delivery report, then marks delivered
/// rows published with partition and offset (or deletes them when no history is kept) and failed
/// rows with attempts+1 and a backoff (parked after `maxAttempts`), and commits. A row is marked
/// only after its report, so a crash at any point re-sends (duplicates carry the same `ce_id`) but
/// never loses an event. While one batch is in flight the next is claimed on the other lane.
///
/// Every decision is `RelayPipeline`'s (pure, unit-tested by plain calls); `loop` only executes
/// its actions. The relay is the claim source: producing, the outcome, the record's statements and
/// counting them are the sink's (`RelaySink`), which the WAL source feeds too.
public final class Relay: Worker {
    public let configuration: RelayConfiguration
    private let database: PostgresPoolConfiguration
    /// Where the claimed rows go; `WalSource` hands it the events that have no row.
    public let sink: RelaySink
    /// Wakes the relay: more may be due (the API's commits), or a stop.
    public let wakeup = Wakeup()
    /// Woken by the producer when the batch in flight has all its reports.
    private let reportsIn = Wakeup()
    public var waiters: DeliveryWaiters { sink.waiters }
    private let logger = Logger(label: "relay")
    /// The deadline of a stop's drain, read by the relay thread.
    private let drainDeadline = Mutex<ContinuousClock.Instant?>(nil)
    private let thread: WorkerThread
    private let progress = Mutex(RelayProgress())
    public var metrics: RelayMetrics { sink.metrics }

    /// `afterPublished`: called after each record that published events has committed (the
    /// daemon sends a coalesced NOTIFY, for `Prefer: wait` in other processes).
    public init(configuration: RelayConfiguration, database: PostgresPoolConfiguration, producer: RDKafkaProducer,
                afterPublished: @escaping @Sendable () -> Void = {}) {
        self.configuration = configuration
        self.database = database
        sink = RelaySink(configuration: configuration, producer: producer, afterPublished: afterPublished)
        thread = WorkerThread(name: "relay", wakeup: wakeup)
    }

    /// How much longer than the delivery timeout (the producer's `message.timeout.ms`) the relay
    /// waits for a report: librdkafka gives up on the message and reports it first (it checks
    /// timeouts about once a second), so a row is counted as failed only once its message can no
    /// longer be delivered. A row still without a report then is sent again, no attempt counted.
    static let reportGrace: Duration = .seconds(5)

    /// What the relay has done, for readiness, metrics and the watchdog.
    public var status: RelayProgress { progress.withLock { $0 } }

    /// `status.isBacklogged`, without copying the rest.
    public var isBacklogged: Bool { progress.withLock { $0.isBacklogged } }

    public var name: String { thread.name }
    public var phase: WorkerState.Phase { thread.phase }

    /// Starts the relay thread, which owns its database connections. It ends by itself only when
    /// the producer hit a fatal error (`RelayFatalError`): nothing more can be published until a
    /// new producer (a restart) takes over.
    public func start(ended: @escaping @Sendable (WorkerEnd) -> Void) {
        thread.start(ended: ended) { [self] _ in try loop() }
    }

    /// Starts the relay thread; an end by itself is seen in `phase` and `status`.
    public func run() { start(ended: { _ in }) }

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

    /// Fails with `RelaySourceError` when a relay of the other `RELAY_SOURCE` runs on the
    /// database (its sessions' names in `pg_stat_activity`). For start-up (exit 78). Sessions of a
    /// relay that just stopped take a moment to go: they are given `sourceCheckGrace` to.
    public func checkSource() throws {
        let connection = try database.connect()
        defer { connection.close() }
        let other = configuration.source == .wal ? RelaySource.poll : .wal
        let deadline = ContinuousClock.now + Self.sourceCheckGrace
        while true {
            let sessions = try connection.query("""
                SELECT count(*)::int AS sessions FROM pg_stat_activity
                WHERE datname = current_database() AND application_name = ANY($1::text[]) AND pid <> pg_backend_pid()
                """, [other.applicationNames]).first?.require(Int.self, "sessions") ?? 0
            if sessions == 0 { return }
            guard ContinuousClock.now < deadline else { throw RelaySourceError(configured: configuration.source, sessions: sessions) }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    static let sourceCheckGrace: Duration = .seconds(3)

    private func noteRecorded(_ agreement: ShardAgreement) {
        if case .recorded(let previous) = agreement, previous != configuration.shards {
            logger.notice("recorded the shard count", ["shards": "\(configuration.shards)", "previous": previous.map(String.init) ?? "none"])
        }
    }

    /// Publishes what is due until `deadline` (nil: 10 s from now), finishing the batches in
    /// flight, then ends the thread, which releases the shards. Before `start`, or a second time,
    /// returns at once. False when the thread is still running `stopGrace` after the deadline.
    @discardableResult
    public func stop(deadline: ContinuousClock.Instant?) -> Bool {
        let deadline = deadline ?? ContinuousClock.now + .seconds(10)
        drainDeadline.withLock { $0 = min(deadline, $0 ?? deadline) }
        return thread.stop(deadline: deadline + Self.stopGrace)
    }

    public func stop(drainTimeout: Duration) {
        stop(deadline: ContinuousClock.now + drainTimeout)
    }

    /// How long after the drain's deadline the thread may take to read its last records.
    static let stopGrace: Duration = .seconds(5)

    private var pipelineSettings: RelayPipeline.Settings {
        RelayPipeline.Settings(batchSize: configuration.batchSize, shards: configuration.shards,
                               pollInterval: configuration.pollInterval, takeoverInterval: configuration.takeoverInterval,
                               reportTimeout: configuration.deliveryTimeout + Self.reportGrace, backoff: configuration.backoff,
                               claimLinger: configuration.claimLinger, claimLingerAboveRate: configuration.claimLingerAboveRate)
    }

    /// Executes `RelayPipeline`'s actions: the I/O is here, every decision there. Throws
    /// `RelayFatalError` when it ends because the producer broke.
    private func loop() throws {
        var pipeline = RelayPipeline(settings: pipelineSettings)
        var lanes: [RelayLane] = []
        var refusal: String?
        var fatal: RelayFatalError?
        var action = pipeline.start()
        while true {
            if case .exit = action {
                progress.withLock { $0.lastFullClaim = nil }
                lanes.forEach { $0.connection.close() }
                if let fatal { throw fatal }
                return
            }
            let now = ContinuousClock.now
            progress.withLock { $0.heartbeat = now }
            if let deadline = drainDeadline.withLock({ $0 }), pipeline.drainDeadline == nil {
                pipeline.stopRequested(deadline: deadline)
            }
            if fatal == nil, let error = sink.fatalError {
                fatal = RelayFatalError(kafka: error)
                logger.error("fatal producer error: the relay stops; a new producer (a restart) must take over",
                             ["code": error.code.name, "error": error.message])
                progress.withLock { $0.lastError = "Kafka producer fatal error \(error.code.name)" }
                pipeline.producerBroke()
            }
            do {
                switch action {
                case .exit:
                    continue
                case .connect:
                    lanes = [RelayLane(try database.connect()), RelayLane(try database.connect())]
                    for lane in lanes {
                        try lane.connection.executeScript(Self.laneSettings)
                        try lane.connection.query("SELECT set_config('application_name', $1, false)", [configuration.source.applicationNames[0]])
                    }
                    try lanes[0].connection.listen(configuration.channel)
                    action = pipeline.connected(now: now)
                case .join:
                    let agreement = try lanes[0].store.joinRelays(shards: configuration.shards)
                    if case .mismatch(let inUse) = agreement {
                        let error = RelayShardsError(configured: configuration.shards, inUse: inUse)
                        if refusal != error.description { logger.error("relay publishes nothing: shard count differs", ["error": error.description]) }
                        refusal = error.description
                        progress.withLock {
                            $0.lastError = error.description
                            $0.ownedShards = []
                        }
                        action = pipeline.joined(agreed: false, now: now)
                    } else {
                        noteRecorded(agreement)
                        if refusal != nil { progress.withLock { $0.lastError = nil } }
                        refusal = nil
                        action = pipeline.joined(agreed: true, now: now)
                    }
                case .acquireShards(let lane, let owned):
                    let held = try lanes[lane].store.acquire(shards: configuration.shards, owned: owned)
                    if held != owned { logger.notice("owning shards", ["shards": held.map(String.init).joined(separator: ","), "of": "\(configuration.shards)"]) }
                    progress.withLock {
                        $0.ownedShards = held
                        if held.isEmpty { $0.stall.standby(now: now) }
                    }
                    action = pipeline.acquired(held, now: now)
                case .sendClaim(let lane, let owned):
                    // A claim that cannot be sent closes the lane (PQConnection.startPipeline), which rolls it back.
                    lanes[lane].claim = try lanes[lane].store.startClaim(limit: configuration.batchSize, bytes: configuration.batchBytes,
                                                                         shards: configuration.shards, owned: owned)
                    action = pipeline.claimSent(now: now)
                case .readClaim(let lane):
                    let rows = try lanes[lane].store.finishClaim(lanes[lane].claim!, format: configuration.format, bytes: configuration.batchBytes)
                    lanes[lane].claim = nil
                    lanes[lane].claimedIDs = rows.map(\.id)
                    progress.withLock { [ids = lanes[lane].claimedIDs, full = rows.count >= configuration.batchSize] in
                        $0.stall.claimed(ids, now: now)
                        $0.lastFullClaim = full ? now : nil
                    }
                    action = pipeline.claimRead(rows, now: ContinuousClock.now)
                case .endClaim(let lane):
                    // Nothing produced: the claim's queue rows go back.
                    try lanes[lane].connection.rollback()
                    progress.withLock { $0.lastFullClaim = nil }
                    // Idle: the counts held back since the last write go now, when due.
                    let published = sink.dueCounts(adding: [:], now: now)
                    if !published.isEmpty { try lanes[lane].store.countPublished(published) }
                    action = pipeline.claimEnded(now: now)
                case .produce(let lane, let rows):
                    lanes[lane].producedAt = Timestamp.now()
                    lanes[lane].deliveries = sink.produce(rows) { [reportsIn] in reportsIn.wake() }
                    action = pipeline.produced(now: ContinuousClock.now)
                case .awaitReports(let lane, let until):
                    // Slices of 100 ms, to see a stop's deadline; the wake-up is left for the next wait.
                    let deliveries = lanes[lane].deliveries!
                    let complete = now < until ? deliveries.wait(upTo: min(until - now, .milliseconds(100))) : deliveries.isComplete
                    action = pipeline.reportsIn(lane: lane, results: deliveries.results(waitingUpTo: .zero), complete: complete,
                                                producerFailed: sink.fatalError != nil, now: ContinuousClock.now)
                case .sendRecord(let lane, let outcome):
                    lanes[lane].record = try sink.startRecord(outcome, claimed: lanes[lane].claimedIDs, on: lanes[lane].store,
                                                              flush: pipeline.drainDeadline != nil)
                    lanes[lane].outcome = outcome
                    lanes[lane].deliveries = nil
                    action = pipeline.recordSent(now: now)
                case .readRecord(let lane):
                    try lanes[lane].store.finishRecord(lanes[lane].record!)
                    count(lanes[lane])
                    lanes[lane].record = nil
                    lanes[lane].outcome = nil
                    action = pipeline.recordRead(lane: lane, now: now)
                case .wait(let until, let reportsOf, let recordOf):
                    let sockets = [lanes[0].connection.socketDescriptor, recordOf.map { lanes[$0].connection.socketDescriptor } ?? -1]
                    let (woken, readable) = Wakeup.wait(for: [wakeup, reportsIn], timeout: max(until - now, .zero), sockets: sockets)
                    // The LISTEN lane may also be the record's: only notifications count.
                    let notified = readable[0] ? try lanes[0].connection.drainNotifications() > 0 : false
                    let reports = reportsOf.flatMap { lane in
                        lanes[lane].deliveries.flatMap { $0.isComplete ? (lane, $0.results(waitingUpTo: .zero), sink.fatalError != nil) : nil }
                    }
                    action = pipeline.waited(now: ContinuousClock.now, woken: woken[0] || notified, reports: reports,
                                             recordReadable: readable[1] ? recordOf : nil)
                case .backOff(let until):
                    _ = wakeup.wait(timeout: max(until - now, .zero))
                    action = pipeline.backedOff(now: ContinuousClock.now)
                }
            } catch {
                lanes.forEach { $0.connection.close() }
                lanes = []
                let stopping = pipeline.phase == .finishing || pipeline.drainDeadline != nil
                progress.withLock {
                    $0.lastFullClaim = nil
                    $0.lastError = RelayProgress.safeSummary(of: error)
                    $0.ownedShards = []
                    $0.stall.roundFailed(now: .now)
                }
                action = pipeline.failed(now: ContinuousClock.now, jitter: Double.random(in: 0...1))
                if stopping {
                    logger.warning("batches not recorded; they will be sent again", ["error": "\(error)"])
                } else if case .backOff(let until) = action {
                    logger.warning("relay batch failed; retrying", ["error": "\(error)", "retry_in": "\(until - ContinuousClock.now)"])
                }
            }
        }
    }

    /// The relay's commits only record deliveries: one lost in a crash means the rows are sent
    /// again (at least once still holds), so they need not wait for the WAL flush. The lanes keep
    /// `outbox_queue` themselves (`OutboxStore.requeue`): the outbox's queue triggers skip them.
    /// Every statement of a lane reads rows by id or in id order: without bitmap and sequential
    /// scans, statistics taken while the queue was empty (autovacuum's ANALYZE between bursts)
    /// cannot turn the claim into a read and sort of the whole backlog (`OutboxClaimPlanTests`).
    /// `pg_stat_activity` names the lanes by source (`RelaySource.applicationNames`).
    static let laneSettings = """
        SET synchronous_commit = off; SET outboxd.relay_session = on; SET enable_bitmapscan = off; SET enable_seqscan = off
        """

    /// A committed batch counts: the sink's counting, then the relay's progress.
    private func count(_ lane: RelayLane) {
        guard let outcome = lane.outcome else { return }
        let counted = sink.counted(outcome, claimed: lane.claimedIDs.count, producedAt: lane.producedAt)
        let waitingOn = counted.retried ?? outcome.held.first.map { ($0, "held: no delivery report, or waiting for an earlier event of its key") }
        progress.withLock {
            $0.batches += 1
            $0.published += outcome.delivered.count
            $0.failed += outcome.failed.count
            $0.lastBatchAt = Timestamp.now()
            $0.stall.recorded(advanced: !outcome.delivered.isEmpty || counted.parked, waitingOn: waitingOn, now: .now)
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
    /// Whether rows are due and nothing gets through (`/readyz`, `outboxd_relay_stalled_seconds`).
    public var stall = RelayStall()
    /// When the last claim came back full, if it did (a backlog in the table, claimed without
    /// waiting); nil after a short or empty one, a failure or the end.
    public var lastFullClaim: ContinuousClock.Instant?

    /// Whether the relay drains a backlog: its last claim came back full, less than
    /// `backlogStale` ago (a relay that stopped claiming is not). The WAL source does not read
    /// its stream meanwhile (`WalSource`).
    public var isBacklogged: Bool {
        lastFullClaim.map { ContinuousClock.now - $0 < Self.backlogStale } ?? false
    }

    static let backlogStale: Duration = .seconds(1)
}

