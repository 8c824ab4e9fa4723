import Testing
@testable import OutboxdOutbox

/// `RelayStall` by plain calls: when rows are due and nothing gets through, and when it ends.
@Suite struct RelayStallTests {
    let start = ContinuousClock.now
    func at(_ seconds: Int) -> ContinuousClock.Instant { start + .seconds(seconds) }

    @Test func anIdleRelayNeverStalls() {
        var stall = RelayStall(now: start)
        stall.claimed([], now: at(100))
        #expect(!stall.stalled(now: at(1000), after: .seconds(30)))
        #expect(stall.secondsBehind(now: at(1000)) == 0)
    }

    @Test func rowsDueWithNothingThroughStallNamingTheRowThenProgressEndsIt() {
        var stall = RelayStall(now: start)
        stall.claimed([7, 8], now: at(10))
        #expect(stall.waitingOn?.id == 7)
        #expect(!stall.stalled(now: at(39), after: .seconds(30)))
        stall.recorded(advanced: false, waitingOn: (7, "_MSG_TIMED_OUT"), now: at(20))
        // Backing off: the claims find nothing due, and the relay is still behind.
        stall.claimed([], now: at(25))
        #expect(stall.stalled(now: at(41), after: .seconds(30)))
        #expect(stall.secondsBehind(now: at(41)) == 31)
        #expect(stall.waitingOn?.reason == "_MSG_TIMED_OUT")
        stall.claimed([7, 8], now: at(50))
        stall.recorded(advanced: true, waitingOn: nil, now: at(51))
        #expect(!stall.stalled(now: at(60), after: .seconds(30)))
        stall.claimed([], now: at(61))
        #expect(stall.secondsBehind(now: at(500)) == 0)
        #expect(stall.waitingOn == nil)
    }

    /// Progress with one row left to retry keeps the clock at the progress, not at the first due row.
    @Test func progressRestartsTheClockEvenWithARowLeft() {
        var stall = RelayStall(now: start)
        stall.claimed([1, 2, 3], now: at(0))
        stall.recorded(advanced: true, waitingOn: (3, "_MSG_TIMED_OUT"), now: at(25))
        stall.claimed([], now: at(26))
        #expect(!stall.stalled(now: at(50), after: .seconds(30)))
        #expect(stall.stalled(now: at(56), after: .seconds(30)))
    }

    @Test func failingRoundsStallAStandbyDoesNot() {
        var stall = RelayStall(now: start)
        stall.roundFailed(now: at(5))
        stall.roundFailed(now: at(20))
        #expect(stall.stalled(now: at(36), after: .seconds(30)))
        #expect(stall.waitingOn == nil)
        stall.standby(now: at(40))
        #expect(!stall.stalled(now: at(100), after: .seconds(30)))
    }
}
