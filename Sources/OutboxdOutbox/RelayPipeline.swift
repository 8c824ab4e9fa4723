import OutboxdCore
import OutboxdKafka

/// The relay's decisions, with no I/O and no clock reads (after swift-kafka-client's
/// `KafkaProducer.StateMachine`): each input is a mutating call carrying what the executor saw and
/// the time, and returns the next `Action`. `Relay` executes the actions in a short loop; the tests
/// drive every interleaving by plain calls (`RelayPipelineTests`).
///
/// A batch moves along one of two lanes (database connections; lane 0 also LISTENs):
/// claim sent → rows read → produced (in flight) → reports in → record sent → record read
/// (committed). While one batch is in flight, the next is claimed on the other lane, so
/// PostgreSQL, Kafka and the relay work at the same time. Two guarantees are in the transitions:
/// - **G2, at least once.** `.sendRecord` is returned only by `reportsIn`/`waited`, built from the
///   batch's own delivery results; a row without a report is recorded as nothing (held).
/// - **G3, per-key order.** A claim sent while the other lane's batch is not known committed may
///   see that batch's rows as not backing off, so it may claim later rows of a key that batch
///   failed. Its rows are produced only once that batch's outcome is known, without its blocked
///   keys (`RelayBatchOutcome.plan`).
struct RelayPipeline {
    typealias Instant = ContinuousClock.Instant

    struct Settings {
        var batchSize: Int
        var shards: Int
        var pollInterval: Duration
        var takeoverInterval: Duration
        /// How long a batch waits for its reports after it is produced.
        var reportTimeout: Duration
        var backoff: Backoff
        /// Longest wait before reconnecting after a failure.
        var maximumRetryDelay: Duration = .seconds(5)
        /// `RelayConfiguration.claimLinger` and `claimLingerAboveRate`.
        var claimLinger: Duration = .zero
        var claimLingerAboveRate = 2500
    }

    /// Fewer rows than this in a claim never make the next one linger: a rate read from a few
    /// rows over a millisecond or two is noise.
    static let lingerMinimumRows = 16

    enum Phase: Equatable {
        /// No connections: `.connect` next (after `retryAt`, following a failure).
        case disconnected
        /// Both lanes are connected.
        case connected
        /// Stopping (a stop's deadline or a broken producer): the batches on the lanes are
        /// finished, nothing new is claimed.
        case finishing
        case stopped
    }

    /// A produced batch, from its claimed rows.
    struct Batch {
        let rows: [OutboxRow]
        /// What was done with each row (`RelayBatchOutcome.plan`): only those to `.produce` were.
        let dispositions: [RowDisposition]
        var reportsDue: Instant
    }

    enum LaneState {
        case free
        /// BEGIN and the claim are sent. `heldKeys`: what the claimed rows must not send, nil until
        /// the other lane's batch (in flight when this claim was sent) has its outcome.
        case claiming(heldKeys: Set<String>?)
        /// The claimed rows are being produced.
        case producing(Batch)
        case inFlight(Batch)
        /// The record (mark or delete, failures, COMMIT) is sent; `readable`: its results arrived.
        case recording(RelayBatchOutcome, readable: Bool)
    }

    enum Action {
        case connect
        /// Join the relays' shard agreement on lane 0.
        case join
        case acquireShards(lane: Int, owned: [Int])
        case sendClaim(lane: Int, owned: [Int])
        case readClaim(lane: Int)
        /// Commit a claim whose rows are not produced (none, or the relay is stopping).
        case endClaim(lane: Int)
        /// Produce these rows (the claimed ones but those held).
        case produce(lane: Int, rows: [OutboxRow])
        /// Wait for the lane's reports until `until` (checking for a stop), then `reportsIn`.
        case awaitReports(lane: Int, until: Instant)
        case sendRecord(lane: Int, outcome: RelayBatchOutcome)
        case readRecord(lane: Int)
        /// Wait until `until` for a wake-up or NOTIFY, the reports of `reportsOf`, or the record
        /// results of `recordOf`, then `waited`.
        case wait(until: Instant, reportsOf: Int?, recordOf: Int?)
        /// Wait until `until` (a wake-up ends it early), then `backedOff`.
        case backOff(until: Instant)
        /// Close the connections and end the thread.
        case exit
    }

    let settings: Settings
    private(set) var phase: Phase = .disconnected
    private(set) var lanes: [LaneState] = [.free, .free]
    private(set) var owned: [Int] = []
    private(set) var drainDeadline: Instant?
    private(set) var producerFailed = false
    private var joined = false
    private var joinAt: Instant?
    private var lastTakeover: Instant?
    private var failures = 0
    private var retryAt: Instant?
    /// More may be due: claim at the next decision instead of waiting.
    private var due = true
    private var idleUntil: Instant?
    /// When the last claim was sent, and how long after the one before it.
    private var lastClaimAt: Instant?
    private var lastClaimWindow: Duration?
    /// Under live load (`claimRead`), no claim before this.
    private(set) var lingerUntil: Instant?

    init(settings: Settings) {
        self.settings = settings
    }

    // MARK: - Inputs

    mutating func start() -> Action { .connect }

    /// A stop: publish what is due until `deadline`, finish the lanes' batches, exit. Takes effect
    /// at the next decision; an earlier deadline than one already set wins.
    mutating func stopRequested(deadline: Instant) {
        drainDeadline = min(deadline, drainDeadline ?? deadline)
        lingerUntil = nil
    }

    /// The producer hit a fatal error: nothing more is produced; the lanes' batches are recorded
    /// (their failures held, `RelayBatchOutcome`) and the relay exits.
    mutating func producerBroke() {
        producerFailed = true
    }

    mutating func connected(now: Instant) -> Action {
        phase = .connected
        lanes = [.free, .free]
        return .join
    }

    /// `agreed`: false when other relays run with another shard count; joined again every
    /// takeover interval meanwhile.
    mutating func joined(agreed: Bool, now: Instant) -> Action {
        guard agreed else {
            if drainDeadline != nil { return finish(now: now) }
            joinAt = now + settings.takeoverInterval
            return .wait(until: joinAt!, reportsOf: nil, recordOf: nil)
        }
        joined = true
        joinAt = nil
        return decide(now: now)
    }

    mutating func acquired(_ held: [Int], now: Instant) -> Action {
        owned = held
        lastTakeover = now
        return decide(now: now)
    }

    mutating func claimSent(now: Instant) -> Action {
        guard let lane = claimingLane else { return decide(now: now) }
        if case .inFlight(let batch) = lanes[1 - lane] {
            return .awaitReports(lane: 1 - lane, until: reportsUntil(batch))
        }
        return .readClaim(lane: lane)
    }

    mutating func claimRead(_ rows: [OutboxRow], now: Instant) -> Action {
        guard let lane = claimingLane, case .claiming(let held) = lanes[lane] else { return decide(now: now) }
        // `held` is known by now (claimSent waits for the other lane's reports first); were it not,
        // producing nothing is the safe answer: the rows stay pending for the next claim.
        guard let held, !rows.isEmpty, !stopping(now: now) else {
            return .endClaim(lane: lane)
        }
        failures = 0
        due = rows.count >= settings.batchSize || drainDeadline != nil
        lingerUntil = due ? nil : linger(after: rows.count)
        let dispositions = RelayBatchOutcome.plan(rows, heldKeys: held)
        lanes[lane] = .producing(Batch(rows: rows, dispositions: dispositions, reportsDue: now))
        return .produce(lane: lane, rows: RelayBatchOutcome.produced(rows, dispositions))
    }

    /// After `.endClaim`: nothing was produced.
    mutating func claimEnded(now: Instant) -> Action {
        if let lane = claimingLane { lanes[lane] = .free }
        failures = 0
        due = false
        if drainDeadline != nil { return finish(now: now) }
        return afterClaim(now: now)
    }

    mutating func produced(now: Instant) -> Action {
        guard let lane = lanes.firstIndex(where: { if case .producing = $0 { true } else { false } }),
              case .producing(var batch) = lanes[lane] else { return decide(now: now) }
        batch.reportsDue = now + settings.reportTimeout
        lanes[lane] = .inFlight(batch)
        return afterClaim(now: now)
    }

    /// The lane's delivery results so far (`complete`: every message has its report). Before
    /// every report is in and the wait's end, the wait goes on; then the batch's record is sent:
    /// rows without a report are held, not failed (G2).
    mutating func reportsIn(lane: Int, results: [DeliveryResult], complete: Bool, producerFailed failed: Bool, now: Instant) -> Action {
        guard case .inFlight(let batch) = lanes[lane] else { return decide(now: now) }
        if !complete, now < reportsUntil(batch) {
            return .awaitReports(lane: lane, until: reportsUntil(batch))
        }
        return record(lane: lane, batch: batch, results: results, producerFailed: failed || producerFailed)
    }

    mutating func recordSent(now: Instant) -> Action {
        if let lane = claimingLane { return .readClaim(lane: lane) }
        return phase == .finishing ? finish(now: now) : decide(now: now)
    }

    mutating func recordRead(lane: Int, now: Instant) -> Action {
        if case .recording = lanes[lane] { lanes[lane] = .free }
        return phase == .finishing ? finish(now: now) : decide(now: now)
    }

    /// After `.wait`: `woken` by a wake-up or a NOTIFY; `reports`: the complete results of the
    /// batch in flight; `recordReadable`: the results of the record arrived.
    mutating func waited(now: Instant, woken: Bool, reports: (lane: Int, results: [DeliveryResult], producerFailed: Bool)? = nil,
                         recordReadable: Int? = nil) -> Action {
        if woken { due = true }
        if let lane = recordReadable, case .recording(let outcome, _) = lanes[lane] {
            lanes[lane] = .recording(outcome, readable: true)
        }
        if let reports, case .inFlight(let batch) = lanes[reports.lane] {
            return record(lane: reports.lane, batch: batch, results: reports.results, producerFailed: reports.producerFailed || producerFailed)
        }
        if phase == .finishing { return finish(now: now) }
        if !joined, let joinAt {
            if drainDeadline != nil { return finish(now: now) }
            return now >= joinAt ? .join : .wait(until: joinAt, reportsOf: nil, recordOf: nil)
        }
        return decide(now: now)
    }

    /// Any I/O failed: the executor has closed both lanes (rolling back what they held: those
    /// rows are sent again). Reconnects after a backoff (`jitter` in 0...1), or exits when stopping.
    mutating func failed(now: Instant, jitter: Double) -> Action {
        failures += 1
        phase = .disconnected
        lanes = [.free, .free]
        owned = []
        joined = false
        joinAt = nil
        lastTakeover = nil
        due = true
        idleUntil = nil
        lingerUntil = nil
        lastClaimAt = nil
        if drainDeadline != nil || producerFailed {
            phase = .stopped
            return .exit
        }
        let delay = min(settings.backoff.delay(afterFailures: failures, jitter: jitter), settings.maximumRetryDelay)
        retryAt = now + delay
        return .backOff(until: now + delay)
    }

    mutating func backedOff(now: Instant) -> Action {
        if drainDeadline != nil || producerFailed {
            phase = .stopped
            return .exit
        }
        if let retryAt, now < retryAt { return .backOff(until: retryAt) }
        retryAt = nil
        return .connect
    }

    // MARK: - Decisions

    private var claimingLane: Int? {
        lanes.firstIndex { if case .claiming = $0 { true } else { false } }
    }

    private func stopping(now: Instant) -> Bool {
        producerFailed || drainDeadline.map { now >= $0 } ?? false
    }

    private func reportsUntil(_ batch: Batch) -> Instant {
        min(batch.reportsDue, drainDeadline ?? batch.reportsDue)
    }

    private mutating func record(lane: Int, batch: Batch, results: [DeliveryResult], producerFailed: Bool) -> Action {
        let outcome = RelayBatchOutcome(rows: batch.rows, dispositions: batch.dispositions, results: results, producerFailed: producerFailed)
        lanes[lane] = .recording(outcome, readable: false)
        if let other = claimingLane, case .claiming(nil) = lanes[other] {
            lanes[other] = .claiming(heldKeys: outcome.blockedKeys)
        }
        return .sendRecord(lane: lane, outcome: outcome)
    }

    /// After a claim is produced or ended: the other lane's record is read (so the next claim has a
    /// free lane and sees it committed), then the next decision.
    private mutating func afterClaim(now: Instant) -> Action {
        if let lane = recordingLane { return .readRecord(lane: lane) }
        return decide(now: now)
    }

    /// The next step when no claim is under way.
    private mutating func decide(now: Instant) -> Action {
        switch phase {
        case .connected: break
        case .disconnected: return .connect
        case .finishing: return finish(now: now)
        case .stopped: return .exit
        }
        guard joined else { return .join }
        if stopping(now: now) { return finish(now: now) }
        for lane in lanes.indices {
            if case .recording(_, readable: true) = lanes[lane] { return .readRecord(lane: lane) }
        }
        let takeoverAt = owned.count < settings.shards ? (lastTakeover.map { $0 + settings.takeoverInterval } ?? now) : nil
        if let takeoverAt, now >= takeoverAt {
            guard let lane = freeLane else { return makeFreeLane(now: now) }
            return .acquireShards(lane: lane, owned: owned)
        }
        if owned.isEmpty {
            if drainDeadline != nil { return finish(now: now) }
            return idle(until: takeoverAt ?? now + settings.takeoverInterval)
        }
        if let until = lingerUntil {
            if now < until { return idle(until: min(until, takeoverAt ?? until)) }
            lingerUntil = nil
        }
        if due || drainDeadline != nil {
            guard let lane = freeLane else { return makeFreeLane(now: now) }
            let other = lanes[1 - lane]
            switch other {
            case .inFlight: lanes[lane] = .claiming(heldKeys: nil)
            case .recording(let outcome, _): lanes[lane] = .claiming(heldKeys: outcome.blockedKeys)
            default: lanes[lane] = .claiming(heldKeys: [])
            }
            due = false
            idleUntil = nil
            lastClaimWindow = lastClaimAt.map { now - $0 }
            lastClaimAt = now
            return .sendClaim(lane: lane, owned: owned)
        }
        let pollAt = idleUntil ?? now + settings.pollInterval
        idleUntil = pollAt
        if now >= pollAt {
            due = true
            return decide(now: now)
        }
        return idle(until: min(pollAt, takeoverAt ?? pollAt))
    }

    /// The end of the wait before the next claim, when a claim of `rows` (fewer than a batch)
    /// shows events arriving at `claimLingerAboveRate` or more; nil otherwise.
    private func linger(after rows: Int) -> Instant? {
        guard settings.claimLinger > .zero, drainDeadline == nil, rows >= Self.lingerMinimumRows,
              let window = lastClaimWindow, window > .zero, let sent = lastClaimAt else { return nil }
        let rate = Double(rows) / window.seconds
        return rate >= Double(settings.claimLingerAboveRate) ? sent + settings.claimLinger : nil
    }

    private func idle(until: Instant) -> Action {
        .wait(until: until, reportsOf: inFlightLane, recordOf: recordingLane)
    }

    private var freeLane: Int? {
        lanes.firstIndex { if case .free = $0 { true } else { false } }
    }

    private var inFlightLane: Int? {
        lanes.firstIndex { if case .inFlight = $0 { true } else { false } }
    }

    private var recordingLane: Int? {
        lanes.firstIndex { if case .recording = $0 { true } else { false } }
    }

    /// The next step in finishing the lanes' batches: read a record sent, else await the reports
    /// of a batch in flight; nil when neither lane holds one.
    private func finishingStep() -> Action? {
        if let lane = recordingLane { return .readRecord(lane: lane) }
        if let lane = inFlightLane, case .inFlight(let batch) = lanes[lane] {
            return .awaitReports(lane: lane, until: reportsUntil(batch))
        }
        return nil
    }

    /// Both lanes busy: a record is read first, or else (not reached) a batch's reports awaited.
    private func makeFreeLane(now: Instant) -> Action {
        finishingStep() ?? .exit
    }

    /// Stopping: read the records sent, record the batches in flight (their reports awaited until
    /// the stop's deadline at most), then exit.
    private mutating func finish(now: Instant) -> Action {
        phase = .finishing
        if let step = finishingStep() { return step }
        phase = .stopped
        return .exit
    }
}
