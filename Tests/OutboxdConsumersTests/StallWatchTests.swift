@testable import OutboxdConsumers
import Testing

/// `StallWatch` by plain calls: a partition stalls when it has had records to process for the
/// timeout and processed none; progress, an empty partition or a revoke ends it.
@Suite struct StallWatchTests {
    let start = ContinuousClock.now
    func at(_ seconds: Int) -> ContinuousClock.Instant { start + .seconds(seconds) }

    @Test func aRecordPolledAndNotProcessedStallsAfterTheTimeoutWithItsOffsetAndReason() {
        var watch = StallWatch(timeout: .seconds(30))
        watch.polled(partition: 3, offset: 41, at: at(0))
        watch.polled(partition: 3, offset: 42, at: at(1))
        #expect(watch.stalls(at: at(29)).isEmpty)
        #expect(watch.stalls(at: at(30)) == [StallWatch.Stall(partition: 3, offset: 41, waited: .seconds(30), reason: nil)])
        watch.problem(partition: 3, "dead letter not written: Kafka _MSG_TIMED_OUT")
        #expect(watch.stalls(at: at(45)).first?.reason == "dead letter not written: Kafka _MSG_TIMED_OUT")
        // Polled again after a rewind: still the same wait.
        watch.polled(partition: 3, offset: 41, at: at(46))
        #expect(watch.stalls(at: at(46)).first?.waited == .seconds(46))

        // The record is done with: the next one in hand waits from now, the reason is gone.
        watch.processed(partition: 3, offset: 41, at: at(50))
        #expect(watch.stalls(at: at(79)).isEmpty)
        #expect(watch.stalls(at: at(80)) == [StallWatch.Stall(partition: 3, offset: 42, waited: .seconds(30), reason: nil)])
        watch.processed(partition: 3, offset: 42, at: at(81))
        #expect(watch.stalls(at: at(500)).isEmpty, "nothing in hand, no lag: idle, not stalled")
    }

    @Test func lagWithNothingProcessedStallsAndNoLagEndsIt() {
        var watch = StallWatch(timeout: .seconds(10))
        watch.lag(partition: 0, behind: 5, at: at(0))
        #expect(watch.stalls(at: at(100)).isEmpty, "no record processed yet: the lag of a partition is not known")
        watch.polled(partition: 0, offset: 7, at: at(0))
        watch.processed(partition: 0, offset: 7, at: at(1))
        watch.lag(partition: 0, behind: 0, at: at(2))
        #expect(watch.stalls(at: at(100)).isEmpty)
        // Records arrive and are not fetched: lag alone.
        watch.lag(partition: 0, behind: 3, at: at(200))
        watch.lag(partition: 0, behind: 4, at: at(205))
        #expect(watch.stalls(at: at(209)).isEmpty)
        #expect(watch.stalls(at: at(210)) == [StallWatch.Stall(partition: 0, offset: 8, waited: .seconds(10), reason: nil)])
        watch.lag(partition: 0, behind: 0, at: at(211))
        #expect(watch.stalls(at: at(300)).isEmpty)
    }

    @Test func aBatchProcessedUpToItsLastRecordLeavesNothingWaiting() {
        var watch = StallWatch(timeout: .seconds(5))
        for offset in Int64(0)..<500 { watch.polled(partition: 1, offset: offset, at: at(0)) }
        watch.processed(partition: 1, offset: 499, at: at(4))
        #expect(watch.stalls(at: at(60)).isEmpty)
        // One polled while the batch was applied is waiting from the batch's end.
        watch.polled(partition: 1, offset: 500, at: at(3))
        watch.polled(partition: 1, offset: 501, at: at(3))
        watch.processed(partition: 1, offset: 500, at: at(4))
        #expect(watch.stalls(at: at(9)).map(\.offset) == [501])
    }

    @Test func aRevokedPartitionIsForgottenAndPartitionsStallApart() {
        var watch = StallWatch(timeout: .seconds(5))
        watch.polled(partition: 0, offset: 10, at: at(0))
        watch.polled(partition: 2, offset: 20, at: at(0))
        watch.polled(partition: 1, offset: 30, at: at(0))
        watch.processed(partition: 1, offset: 30, at: at(1))
        #expect(watch.stalls(at: at(5)).map(\.partition) == [0, 2])
        watch.keep(only: [1, 2])
        #expect(watch.stalls(at: at(6)).map(\.partition) == [2])
        watch.keep(only: [])
        #expect(watch.stalls(at: at(60)).isEmpty)
    }
}
