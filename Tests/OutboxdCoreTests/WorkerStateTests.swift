import OutboxdCore
import Testing

/// The lifecycle as plain calls: what each of start, stop and the end of the work says to do.
@Suite struct WorkerStateTests {
    @Test func startRunsOnceThenStopSignalsAndWaitsThenTheEndIsExpected() {
        var state = WorkerState()
        #expect(state.phase == .idle)
        let first = state.start(), second = state.start()
        #expect(first)
        #expect(!second, "a second start spawns nothing")
        #expect(state.phase == .running)
        let stop = state.stop()
        #expect(stop == .signalAndWait)
        #expect(state.phase == .stopping)
        let again = state.stop()
        #expect(again == .none, "a second stop returns at once")
        let byItself = state.ended(.returned)
        #expect(!byItself, "an end after stop is not an end by itself")
        #expect(state.phase == .stopped)
        let afterEnd = state.stop()
        #expect(afterEnd == .none)
    }

    @Test func stopBeforeStartStopsForGood() {
        var state = WorkerState()
        let stop = state.stop()
        #expect(stop == .none)
        #expect(state.phase == .stopped)
        let start = state.start()
        #expect(!start, "a start after stop spawns nothing")
        let again = state.stop()
        #expect(again == .none)
    }

    @Test func anEndWhileRunningIsByItself() {
        var returned = WorkerState()
        _ = returned.start()
        let returnedByItself = returned.ended(.returned)
        #expect(returnedByItself)
        #expect(returned.phase == .stopped)
        let stopAfterReturn = returned.stop()
        #expect(stopAfterReturn == .none, "stopping an ended worker waits for nothing")

        var failed = WorkerState()
        _ = failed.start()
        let failedByItself = failed.ended(.failed("no broker"))
        #expect(failedByItself)
        #expect(failed.phase == .failed("no broker"))
        #expect(!failed.isActive)
        let stopAfterFailure = failed.stop()
        #expect(stopAfterFailure == .none)
        #expect(failed.phase == .failed("no broker"), "a stop keeps the failure")
    }

    @Test func aFailureWhileStoppingIsNotByItself() {
        var state = WorkerState()
        _ = state.start()
        _ = state.stop()
        #expect(state.isActive)
        let byItself = state.ended(.failed("connection lost"))
        #expect(!byItself)
        #expect(state.phase == .failed("connection lost"))
    }
}
