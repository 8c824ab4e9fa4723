import Testing
@testable import OutboxdOutbox

/// `PublishedCounts`: the first batch's counts are written at once, later ones gathered until an
/// interval has passed since the last write, or a stop flushes them.
@Suite struct PublishedCountsTests {
    @Test func countsAreGatheredForAnIntervalThenWrittenTogether() {
        var counts = PublishedCounts(interval: .seconds(1))
        let start = ContinuousClock.now
        #expect(counts.add([:], now: start).isEmpty)
        #expect(counts.add(["a": 2], now: start) == ["a": 2])
        #expect(counts.add(["a": 3, "b": 1], now: start + .milliseconds(300)).isEmpty)
        #expect(counts.add(["b": 4], now: start + .milliseconds(900)).isEmpty)
        #expect(counts.add([:], now: start + .milliseconds(1000)) == ["a": 3, "b": 5])
        #expect(counts.add([:], now: start + .seconds(5)).isEmpty, "nothing left to write")
        #expect(counts.add(["c": 1], now: start + .milliseconds(5100)) == ["c": 1], "a second after the last write")
        #expect(counts.add(["c": 1], now: start + .milliseconds(5200)).isEmpty)
        #expect(counts.add(["d": 1], now: start + .milliseconds(5300), flush: true) == ["c": 1, "d": 1])
    }
}
