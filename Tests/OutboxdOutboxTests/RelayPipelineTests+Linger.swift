import Foundation
import OutboxdCore
import OutboxdKafka
import Testing
@testable import OutboxdOutbox

/// Issue #25: under live load the next claim lingers (`RELAY_CLAIM_LINGER`), so claims grow with
/// the load instead of following every commit; a quiet outbox, a backlog and a stop never wait.
extension RelayPipelineTests {
    func lingering(batchSize: Int = 500, linger: Duration = .milliseconds(10), aboveRate: Int = 2500) -> RelayPipeline {
        RelayPipeline(settings: .init(batchSize: batchSize, shards: 1, pollInterval: .milliseconds(1000),
                                      takeoverInterval: .milliseconds(500), reportTimeout: .milliseconds(10_000),
                                      backoff: Backoff(base: .milliseconds(100), maximum: .seconds(10)),
                                      claimLinger: linger, claimLingerAboveRate: aboveRate))
    }

    func rows(_ ids: ClosedRange<Int64>) -> [OutboxRow] { ids.map { row($0, "k\($0)") } }

    /// The first claim (sent at 0, `first` rows read at 1), its reports at `reportsAt` with a
    /// wake-up, then the second claim sent at once: returns the lane-1 claim's produced action
    /// after reading `second` at `reportsAt + 1`.
    func secondClaim(_ pipeline: inout RelayPipeline, first: ClosedRange<Int64>, second: ClosedRange<Int64>, reportsAt: Int) -> Action {
        #expect(describe(started(&pipeline)) == "sendClaim lane 0 owned [0]")
        _ = claimAndProduce(&pipeline, lane: 0, rows: rows(first), expectProduced: Array(first))
        let results = first.map { delivered($0) }
        #expect(describe(pipeline.waited(now: at(reportsAt), woken: true, reports: (0, results, false))) == "sendRecord lane 0")
        #expect(describe(pipeline.recordSent(now: at(reportsAt))) == "sendClaim lane 1 owned [0]")
        #expect(describe(pipeline.claimSent(now: at(reportsAt))) == "readClaim lane 1")
        #expect(describe(pipeline.claimRead(rows(second), now: at(reportsAt + 1))) == "produce lane 1 rows \(Array(second))")
        #expect(describe(pipeline.produced(now: at(reportsAt + 1))) == "readRecord lane 0")
        return pipeline.recordRead(lane: 0, now: at(reportsAt + 1))
    }

    func waitEnd(_ action: Action) -> ContinuousClock.Instant? {
        if case .wait(let until, _, _) = action { until } else { nil }
    }

    /// 20 rows over the 4 ms since the claim before (5000/s, past 2500/s): wake-ups do not claim
    /// before 10 ms after that claim was sent; the wait still sends and reads records; then one
    /// claim takes what arrived meanwhile. Its 20 rows over 10 ms (2000/s) do not linger again.
    @Test func aClaimUnderLiveLoadLingersThroughWakeUpsThenClaimsOnce() {
        var pipeline = lingering()
        let afterSecond = secondClaim(&pipeline, first: 1...20, second: 21...40, reportsAt: 4)
        #expect(pipeline.lingerUntil == at(14))
        #expect(waitEnd(afterSecond) == at(14), "\(describe(afterSecond))")
        let results = (21...40).map { delivered(Int64($0)) }
        #expect(describe(pipeline.waited(now: at(6), woken: true, reports: (1, results, false))) == "sendRecord lane 1")
        let afterRecord = pipeline.recordSent(now: at(6))
        #expect(describe(afterRecord) == "wait reports - record 1" && waitEnd(afterRecord) == at(14))
        #expect(describe(pipeline.waited(now: at(7), woken: true, recordReadable: 1)) == "readRecord lane 1")
        let idle = pipeline.recordRead(lane: 1, now: at(7))
        #expect(describe(idle) == "wait reports - record -" && waitEnd(idle) == at(14))
        #expect(waitEnd(pipeline.waited(now: at(9), woken: true)) == at(14))
        #expect(describe(pipeline.waited(now: at(14), woken: false)) == "sendClaim lane 0 owned [0]")
        #expect(describe(pipeline.claimSent(now: at(14))) == "readClaim lane 0")
        #expect(describe(pipeline.claimRead(rows(41...60), now: at(15))) == "produce lane 0 rows \(Array(41...60))")
        #expect(pipeline.lingerUntil == nil, "20 rows over 10 ms: 2000/s")
    }

    /// At low rates every wake-up is claimed at once: fewer than 16 rows (however fast they came),
    /// or 16 and more arriving below the rate.
    @Test(arguments: [(1...15, 2), (1...20, 9)] as [(ClosedRange<Int64>, Int)])
    func aQuietOutboxNeverLingers(_ second: ClosedRange<Int64>, _ reportsAt: Int) {
        var pipeline = lingering()
        let shifted = (second.lowerBound + 100)...(second.upperBound + 100)
        let after = secondClaim(&pipeline, first: 1...20, second: shifted, reportsAt: reportsAt)
        #expect(pipeline.lingerUntil == nil)
        #expect(describe(after) == "wait reports 1 record -")
        #expect(describe(pipeline.waited(now: at(reportsAt + 2), woken: true)) == "sendClaim lane 0 owned [0]")
    }

    /// A full batch (a backlog) claims again at once; so does a relay with the linger off.
    @Test func aFullBatchOrNoLingerClaimsAtOnce() {
        var full = lingering(batchSize: 20)
        #expect(describe(started(&full)) == "sendClaim lane 0 owned [0]")
        #expect(describe(claimAndProduce(&full, lane: 0, rows: rows(1...20), expectProduced: Array(1...20))) == "sendClaim lane 1 owned [0]")
        #expect(describe(full.claimSent(now: at(4))) == "awaitReports lane 0")
        let record = full.reportsIn(lane: 0, results: (1...20).map { delivered(Int64($0)) }, complete: true, producerFailed: false, now: at(4))
        #expect(describe(record) == "sendRecord lane 0")
        #expect(describe(full.recordSent(now: at(4))) == "readClaim lane 1")
        #expect(describe(full.claimRead(rows(21...40), now: at(5))) == "produce lane 1 rows \(Array(21...40))")
        #expect(full.lingerUntil == nil, "20 rows over 4 ms, but a full batch")
        #expect(describe(full.produced(now: at(5))) == "readRecord lane 0")
        #expect(describe(full.recordRead(lane: 0, now: at(5))) == "sendClaim lane 0 owned [0]")
        var off = lingering(linger: .zero)
        let after = secondClaim(&off, first: 1...20, second: 21...40, reportsAt: 4)
        #expect(off.lingerUntil == nil)
        #expect(describe(off.waited(now: at(6), woken: true, reports: (1, (21...40).map { delivered(Int64($0)) }, false))) == "sendRecord lane 1")
        #expect(describe(after) == "wait reports 1 record -")
    }

    /// A stop while the claim lingers drains at once.
    @Test func aStopEndsTheLinger() {
        var pipeline = lingering()
        _ = secondClaim(&pipeline, first: 1...20, second: 21...40, reportsAt: 4)
        #expect(pipeline.lingerUntil == at(14))
        #expect(describe(pipeline.waited(now: at(6), woken: true, reports: (1, (21...40).map { delivered(Int64($0)) }, false))) == "sendRecord lane 1")
        pipeline.stopRequested(deadline: at(10_000))
        #expect(describe(pipeline.recordSent(now: at(6))) == "sendClaim lane 0 owned [0]")
        #expect(pipeline.lingerUntil == nil)
    }
}
