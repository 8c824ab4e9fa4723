import Foundation
import OutboxdCore
import OutboxdKafka
import Testing
@testable import OutboxdOutbox

/// `RelayPipeline` driven by plain calls: each interleaving of claims, reports, records, wake-ups,
/// failures and stops, with no database, no Kafka and no clock.
@Suite struct RelayPipelineTests {
    typealias Action = RelayPipeline.Action
    let t0 = ContinuousClock.now
    let timedOut = KafkaError(code: .init(rawValue: -192, name: "_MSG_TIMED_OUT"), message: "timed out", context: "delivery")

    func at(_ milliseconds: Int) -> ContinuousClock.Instant { t0 + .milliseconds(milliseconds) }

    func pipeline(batchSize: Int = 3, shards: Int = 1) -> RelayPipeline {
        RelayPipeline(settings: .init(batchSize: batchSize, shards: shards, pollInterval: .milliseconds(1000),
                                      takeoverInterval: .milliseconds(500), reportTimeout: .milliseconds(10_000),
                                      backoff: Backoff(base: .milliseconds(100), maximum: .seconds(10))))
    }

    func row(_ id: Int64, _ key: String) -> OutboxRow { OutboxRow(id: id, eventID: UUID(), aggregateID: key) }
    func delivered(_ offset: Int64) -> DeliveryResult { .delivered(partition: 0, offset: offset, reportedAt: Timestamp(microsecondsSinceEpoch: 0)) }

    /// Connected, joined and owning shard 0: returns the first claim's action.
    func started(_ pipeline: inout RelayPipeline, shards: [Int] = [0]) -> Action {
        #expect(describe(pipeline.start()) == "connect")
        #expect(describe(pipeline.connected(now: at(0))) == "join")
        let acquire = pipeline.joined(agreed: true, now: at(0))
        #expect(describe(acquire) == "acquireShards lane 0 owned []")
        return pipeline.acquired(shards, now: at(0))
    }

    /// A claim on `lane` returning `rows`, produced at `now`: returns the action after produce.
    func claimAndProduce(_ pipeline: inout RelayPipeline, lane: Int, rows: [OutboxRow], expectProduced: [Int64], now: Int = 1) -> Action {
        #expect(describe(pipeline.claimSent(now: at(now))) == "readClaim lane \(lane)")
        let produce = pipeline.claimRead(rows, now: at(now))
        #expect(describe(produce) == "produce lane \(lane) rows \(expectProduced)")
        return pipeline.produced(now: at(now))
    }

    @Test func aFullBatchIsFollowedByTheNextClaimAtOnceAPartialOneByAWait() {
        var pipeline = pipeline()
        #expect(describe(started(&pipeline)) == "sendClaim lane 0 owned [0]")
        let afterFull = claimAndProduce(&pipeline, lane: 0, rows: [row(1, "a"), row(2, "b"), row(3, "c")], expectProduced: [1, 2, 3])
        // Full: claim again on the other lane while batch 1 is in flight; batch 1's reports first.
        #expect(describe(afterFull) == "sendClaim lane 1 owned [0]")
        #expect(describe(pipeline.claimSent(now: at(2))) == "awaitReports lane 0")
        let record = pipeline.reportsIn(lane: 0, results: [delivered(0), delivered(1), delivered(2)], complete: true, producerFailed: false, now: at(3))
        guard case .sendRecord(0, let outcome) = record else { Issue.record("got \(describe(record))"); return }
        #expect(outcome.delivered.map(\.id) == [1, 2, 3])
        #expect(describe(pipeline.recordSent(now: at(3))) == "readClaim lane 1")
        #expect(describe(pipeline.claimRead([row(4, "a")], now: at(4))) == "produce lane 1 rows [4]")
        // Batch 1's record is read after batch 2 is produced, then the partial batch 2 waits.
        #expect(describe(pipeline.produced(now: at(4))) == "readRecord lane 0")
        #expect(describe(pipeline.recordRead(lane: 0, now: at(5))) == "wait reports 1 record -")
    }

    /// Batch 2 is claimed while batch 1 is in flight; batch 1's row of key a fails. Batch 2's later
    /// row of a is not produced (G3), its row of b is; nothing of batch 2 is produced before batch
    /// 1's reports are in. (In RelayTests this took a third session holding a SHARE lock.)
    @Test func aClaimDuringAnInFlightBatchHoldsTheKeysThatBatchFails() {
        var pipeline = pipeline()
        _ = started(&pipeline)
        let afterFirst = claimAndProduce(&pipeline, lane: 0, rows: [row(1, "a")], expectProduced: [1])
        #expect(describe(afterFirst) == "wait reports 0 record -")
        #expect(describe(pipeline.waited(now: at(2), woken: true)) == "sendClaim lane 1 owned [0]")
        #expect(describe(pipeline.claimSent(now: at(2))) == "awaitReports lane 0")
        // The claim's rows cannot be read (and so not produced) before the reports decide.
        #expect(describe(pipeline.reportsIn(lane: 0, results: [.unknown], complete: false, producerFailed: false, now: at(3))) == "awaitReports lane 0")
        let record = pipeline.reportsIn(lane: 0, results: [.failed(timedOut)], complete: true, producerFailed: false, now: at(4))
        guard case .sendRecord(0, let outcome) = record else { Issue.record("got \(describe(record))"); return }
        #expect(outcome.failed.map(\.id) == [1])
        #expect(describe(pipeline.recordSent(now: at(4))) == "readClaim lane 1")
        #expect(describe(pipeline.claimRead([row(2, "a"), row(3, "b")], now: at(5))) == "produce lane 1 rows [3]")
        #expect(describe(pipeline.produced(now: at(5))) == "readRecord lane 0")
        #expect(describe(pipeline.recordRead(lane: 0, now: at(6))) == "wait reports 1 record -")
        let second = pipeline.waited(now: at(7), woken: false, reports: (1, [delivered(5)], false))
        guard case .sendRecord(1, let secondOutcome) = second else { Issue.record("got \(describe(second))"); return }
        #expect(secondOutcome.delivered.map(\.id) == [3])
        #expect(secondOutcome.held == [2])
        #expect(secondOutcome.failed.isEmpty)
    }

    /// Batch 1's reports come in during the wait and its record is sent; a wake-up comes before its
    /// results are read, so the commit may not be visible to the next claim, which may then see
    /// batch 1's failed row as not backing off. That claim holds batch 1's blocked keys too.
    @Test func aClaimSentBeforeTheOtherRecordIsReadHoldsItsBlockedKeys() {
        var pipeline = pipeline()
        _ = started(&pipeline)
        _ = claimAndProduce(&pipeline, lane: 0, rows: [row(1, "a"), row(2, "b")], expectProduced: [1, 2])
        let record = pipeline.waited(now: at(2), woken: false, reports: (0, [.failed(timedOut), delivered(0)], false))
        #expect(describe(record) == "sendRecord lane 0")
        #expect(describe(pipeline.recordSent(now: at(2))) == "wait reports - record 0")
        #expect(describe(pipeline.waited(now: at(3), woken: true)) == "sendClaim lane 1 owned [0]")
        #expect(describe(pipeline.claimSent(now: at(3))) == "readClaim lane 1")
        #expect(describe(pipeline.claimRead([row(3, "a"), row(4, "b")], now: at(4))) == "produce lane 1 rows [4]")
        #expect(describe(pipeline.produced(now: at(4))) == "readRecord lane 0")
    }

    /// A record is only ever built from reports: no report by the deadline holds the row (left
    /// pending, no attempt counted), it is never counted failed or published (G2).
    @Test func rowsWithoutAReportByTheDeadlineAreHeldNotFailed() {
        var pipeline = pipeline()
        _ = started(&pipeline)
        _ = claimAndProduce(&pipeline, lane: 0, rows: [row(1, "a"), row(2, "b")], expectProduced: [1, 2])
        // Idle until the poll interval; the in-flight batch is watched meanwhile.
        #expect(describe(pipeline.waited(now: at(500), woken: false)) == "wait reports 0 record -")
        #expect(describe(pipeline.waited(now: at(1001), woken: false)) == "sendClaim lane 1 owned [0]")
        #expect(describe(pipeline.claimSent(now: at(1001))) == "awaitReports lane 0")
        #expect(describe(pipeline.reportsIn(lane: 0, results: [delivered(0), .unknown], complete: false, producerFailed: false, now: at(9000)))
                == "awaitReports lane 0")
        let record = pipeline.reportsIn(lane: 0, results: [delivered(0), .unknown], complete: false, producerFailed: false, now: at(10_001))
        guard case .sendRecord(0, let outcome) = record else { Issue.record("got \(describe(record))"); return }
        #expect(outcome.delivered.map(\.id) == [1])
        #expect(outcome.held == [2])
        #expect(outcome.failed.isEmpty)
    }

    @Test func aStopDrainsUntilAClaimIsEmptyThenFinishesAndExits() {
        var pipeline = pipeline()
        _ = started(&pipeline)
        _ = claimAndProduce(&pipeline, lane: 0, rows: [row(1, "a")], expectProduced: [1])
        pipeline.stopRequested(deadline: at(5000))
        // Draining: claim without waiting for a wake-up, even after a partial batch.
        #expect(describe(pipeline.waited(now: at(2), woken: true)) == "sendClaim lane 1 owned [0]")
        #expect(describe(pipeline.claimSent(now: at(2))) == "awaitReports lane 0")
        #expect(describe(pipeline.reportsIn(lane: 0, results: [delivered(0)], complete: true, producerFailed: false, now: at(3))) == "sendRecord lane 0")
        #expect(describe(pipeline.recordSent(now: at(3))) == "readClaim lane 1")
        #expect(describe(pipeline.claimRead([row(2, "b")], now: at(4))) == "produce lane 1 rows [2]")
        #expect(describe(pipeline.produced(now: at(4))) == "readRecord lane 0")
        #expect(describe(pipeline.recordRead(lane: 0, now: at(5))) == "sendClaim lane 0 owned [0]")
        #expect(describe(pipeline.claimSent(now: at(5))) == "awaitReports lane 1")
        #expect(describe(pipeline.reportsIn(lane: 1, results: [delivered(1)], complete: true, producerFailed: false, now: at(6))) == "sendRecord lane 1")
        #expect(describe(pipeline.recordSent(now: at(6))) == "readClaim lane 0")
        // Nothing more is due: the claim ends, the last record is read, the relay exits.
        #expect(describe(pipeline.claimRead([], now: at(7))) == "endClaim lane 0")
        #expect(describe(pipeline.claimEnded(now: at(7))) == "readRecord lane 1")
        #expect(describe(pipeline.recordRead(lane: 1, now: at(8))) == "exit")
        #expect(pipeline.phase == .stopped)
    }

    /// The stop's deadline cuts the wait for reports short: the unreported row is held, the relay
    /// records what it knows and exits.
    @Test func aStopsDeadlineEndsTheWaitForReports() {
        var pipeline = pipeline()
        _ = started(&pipeline)
        _ = claimAndProduce(&pipeline, lane: 0, rows: [row(1, "a"), row(2, "b")], expectProduced: [1, 2])
        pipeline.stopRequested(deadline: at(100))
        #expect(describe(pipeline.waited(now: at(101), woken: true)) == "awaitReports lane 0")
        let record = pipeline.reportsIn(lane: 0, results: [delivered(0), .unknown], complete: false, producerFailed: false, now: at(101))
        guard case .sendRecord(0, let outcome) = record else { Issue.record("got \(describe(record))"); return }
        #expect(outcome.delivered.map(\.id) == [1])
        #expect(outcome.held == [2])
        #expect(describe(pipeline.recordSent(now: at(102))) == "readRecord lane 0")
        #expect(describe(pipeline.recordRead(lane: 0, now: at(103))) == "exit")
    }

    /// A stop past its deadline while rows are claimed: they are not produced.
    @Test func rowsClaimedAfterTheStopsDeadlineAreNotProduced() {
        var pipeline = pipeline()
        #expect(describe(started(&pipeline)) == "sendClaim lane 0 owned [0]")
        pipeline.stopRequested(deadline: at(10))
        #expect(describe(pipeline.claimSent(now: at(11))) == "readClaim lane 0")
        #expect(describe(pipeline.claimRead([row(1, "a")], now: at(11))) == "endClaim lane 0")
        #expect(describe(pipeline.claimEnded(now: at(11))) == "exit")
    }

    @Test func aFailureBacksOffThenReconnectsAndWhileStoppingExits() {
        var pipeline = pipeline()
        _ = started(&pipeline)
        _ = claimAndProduce(&pipeline, lane: 0, rows: [row(1, "a")], expectProduced: [1])
        let backOff = pipeline.failed(now: at(10), jitter: 1)
        guard case .backOff(let until) = backOff else { Issue.record("got \(describe(backOff))"); return }
        #expect(until == at(110))
        #expect(pipeline.owned.isEmpty)
        // A wake-up before the backoff's end waits on.
        #expect(describe(pipeline.backedOff(now: at(50))) == "backOff")
        #expect(describe(pipeline.backedOff(now: at(110))) == "connect")
        #expect(describe(pipeline.connected(now: at(111))) == "join")
        #expect(describe(pipeline.joined(agreed: true, now: at(111))) == "acquireShards lane 0 owned []")
        // The second failure in a row waits twice as long.
        guard case .backOff(let second) = pipeline.failed(now: at(200), jitter: 1) else { Issue.record("no backoff"); return }
        #expect(second == at(400))
        pipeline.stopRequested(deadline: at(10_000))
        #expect(describe(pipeline.backedOff(now: at(300))) == "exit")
        var stopping = self.pipeline()
        _ = started(&stopping)
        stopping.stopRequested(deadline: at(10_000))
        #expect(describe(stopping.failed(now: at(1), jitter: 0)) == "exit")
    }

    @Test func aShardCountMismatchPublishesNothingAndJoinsAgainEveryTakeoverInterval() {
        var pipeline = pipeline()
        _ = pipeline.start()
        _ = pipeline.connected(now: at(0))
        #expect(describe(pipeline.joined(agreed: false, now: at(0))) == "wait reports - record -")
        #expect(describe(pipeline.waited(now: at(100), woken: true)) == "wait reports - record -")
        #expect(describe(pipeline.waited(now: at(500), woken: false)) == "join")
        #expect(describe(pipeline.joined(agreed: true, now: at(500))) == "acquireShards lane 0 owned []")
        var stopping = self.pipeline()
        _ = stopping.start()
        _ = stopping.connected(now: at(0))
        stopping.stopRequested(deadline: at(1000))
        #expect(describe(stopping.joined(agreed: false, now: at(0))) == "exit")
    }

    @Test func missingShardsAreTriedAgainEveryTakeoverIntervalAndNoShardMeansNoClaim() {
        var pipeline = pipeline(shards: 2)
        #expect(describe(started(&pipeline, shards: [])) == "wait reports - record -")
        #expect(describe(pipeline.waited(now: at(100), woken: true)) == "wait reports - record -")
        #expect(describe(pipeline.waited(now: at(500), woken: false)) == "acquireShards lane 0 owned []")
        #expect(describe(pipeline.acquired([1], now: at(500))) == "sendClaim lane 0 owned [1]")
        _ = claimAndProduce(&pipeline, lane: 0, rows: [row(1, "a")], expectProduced: [1], now: 501)
        // Shard 0 is still missing: tried again at the interval, on the free lane, while batch 1 flies.
        #expect(describe(pipeline.waited(now: at(1000), woken: false)) == "acquireShards lane 1 owned [1]")
        #expect(describe(pipeline.acquired([0, 1], now: at(1000))) == "wait reports 0 record -")
        var stopping = self.pipeline(shards: 2)
        _ = started(&stopping, shards: [])
        stopping.stopRequested(deadline: at(1000))
        #expect(describe(stopping.waited(now: at(1), woken: true)) == "exit")
    }

    /// A broken producer: a claim under way produces nothing, the batch in flight is recorded with
    /// its failures held (no attempt counted), and the relay exits.
    @Test func aBrokenProducerProducesNothingMoreRecordsTheBatchInFlightAndExits() {
        var pipeline = pipeline()
        _ = started(&pipeline)
        _ = claimAndProduce(&pipeline, lane: 0, rows: [row(1, "a")], expectProduced: [1])
        #expect(describe(pipeline.waited(now: at(2), woken: true)) == "sendClaim lane 1 owned [0]")
        pipeline.producerBroke()
        #expect(describe(pipeline.claimSent(now: at(3))) == "awaitReports lane 0")
        let purged = KafkaError(code: .init(rawValue: -152, name: "_PURGE_QUEUE"), message: "purged", context: "delivery")
        let record = pipeline.reportsIn(lane: 0, results: [.failed(purged)], complete: true, producerFailed: true, now: at(4))
        guard case .sendRecord(0, let outcome) = record else { Issue.record("got \(describe(record))"); return }
        #expect(outcome.failed.isEmpty)
        #expect(outcome.held == [1])
        #expect(describe(pipeline.recordSent(now: at(4))) == "readClaim lane 1")
        #expect(describe(pipeline.claimRead([row(2, "b")], now: at(5))) == "endClaim lane 1")
        #expect(describe(pipeline.claimEnded(now: at(5))) == "readRecord lane 0")
        #expect(describe(pipeline.recordRead(lane: 0, now: at(6))) == "exit")
    }

    /// While idle: a record's results are read when they arrive; the poll interval claims.
    @Test func theIdleWaitReadsArrivingRecordsAndClaimsAtThePollInterval() {
        var pipeline = pipeline()
        _ = started(&pipeline)
        _ = claimAndProduce(&pipeline, lane: 0, rows: [row(1, "a")], expectProduced: [1])
        #expect(describe(pipeline.waited(now: at(10), woken: false, reports: (0, [delivered(0)], false))) == "sendRecord lane 0")
        #expect(describe(pipeline.recordSent(now: at(10))) == "wait reports - record 0")
        #expect(describe(pipeline.waited(now: at(11), woken: false, recordReadable: 0)) == "readRecord lane 0")
        #expect(describe(pipeline.recordRead(lane: 0, now: at(11))) == "wait reports - record -")
        #expect(describe(pipeline.waited(now: at(1001), woken: false)) == "sendClaim lane 0 owned [0]")
    }

    /// Reports and a wake-up seen by one wait: the record is sent first, and the wake-up is kept.
    @Test func aWakeUpSeenWithReportsIsNotLost() {
        var pipeline = pipeline()
        _ = started(&pipeline)
        _ = claimAndProduce(&pipeline, lane: 0, rows: [row(1, "a")], expectProduced: [1])
        #expect(describe(pipeline.waited(now: at(10), woken: true, reports: (0, [delivered(0)], false))) == "sendRecord lane 0")
        #expect(describe(pipeline.recordSent(now: at(10))) == "sendClaim lane 1 owned [0]")
    }
}

/// A stable text for an action, to compare in expectations.
func describe(_ action: RelayPipeline.Action) -> String {
    switch action {
    case .connect: "connect"
    case .join: "join"
    case .acquireShards(let lane, let owned): "acquireShards lane \(lane) owned \(owned)"
    case .sendClaim(let lane, let owned): "sendClaim lane \(lane) owned \(owned)"
    case .readClaim(let lane): "readClaim lane \(lane)"
    case .endClaim(let lane): "endClaim lane \(lane)"
    case .produce(let lane, let rows): "produce lane \(lane) rows \(rows.map(\.id))"
    case .awaitReports(let lane, _): "awaitReports lane \(lane)"
    case .sendRecord(let lane, _): "sendRecord lane \(lane)"
    case .readRecord(let lane): "readRecord lane \(lane)"
    case .wait(_, let reports, let record): "wait reports \(reports.map(String.init) ?? "-") record \(record.map(String.init) ?? "-")"
    case .backOff: "backOff"
    case .exit: "exit"
    }
}
