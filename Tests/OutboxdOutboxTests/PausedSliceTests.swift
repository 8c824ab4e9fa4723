import Testing
@testable import OutboxdOutbox

/// `WalSource.PausedSlice`: a paused stream reads a slice of messages once a second, by plain calls.
@Suite struct PausedSliceTests {
    typealias Slice = WalSource.PausedSlice
    let start = ContinuousClock.now

    /// Whether `slice` is paused at `offset` after `start` (`wants`: the stream would pause).
    func paused(_ slice: inout Slice, _ offset: Duration, wants: Bool = true) -> Bool {
        slice.paused(wants, now: start + offset)
    }

    @Test func aPauseReadsOneSliceEachIntervalThenWaits() {
        var slice = Slice()
        var answers: [Bool] = []
        answers.append(paused(&slice, .zero))
        answers.append(paused(&slice, .milliseconds(999)))
        #expect(answers == [true, true], "paused from the first call, for an interval")
        let due = paused(&slice, Slice.interval)
        #expect(!due && slice.reading, "a slice is due")
        var duringSlice: [Bool] = []
        for _ in 0..<Slice.size - 1 {
            slice.read()
            duringSlice.append(paused(&slice, Slice.interval + .milliseconds(1)))
        }
        #expect(duringSlice == Array(repeating: false, count: Slice.size - 1))
        slice.read()
        let afterSlice = paused(&slice, Slice.interval + .milliseconds(2))
        #expect(afterSlice && !slice.reading, "the slice is read whole")
        let beforeNext = paused(&slice, Slice.interval * 2 - .milliseconds(1))
        let next = paused(&slice, Slice.interval * 2)
        #expect(beforeNext && !next, "the next slice, an interval after the last")
    }

    @Test func aSliceEndsWhenNothingIsLeftToRead() {
        var slice = Slice()
        _ = paused(&slice, .zero)
        let due = paused(&slice, Slice.interval)
        #expect(!due)
        slice.read()
        slice.ended()
        let after = paused(&slice, Slice.interval + .milliseconds(1))
        #expect(after && !slice.reading)
    }

    @Test func notPausingReadsAtOnceAndAPauseStartsAFullInterval() {
        var slice = Slice()
        _ = paused(&slice, .zero)
        let free = paused(&slice, .milliseconds(10), wants: false)
        #expect(!free && !slice.reading)
        let again = paused(&slice, Slice.interval)
        let later = paused(&slice, Slice.interval * 2)
        #expect(again && !later, "a new pause waits a whole interval from its start")
    }
}
