import Foundation
import OutboxdCore
import Testing

@Suite struct WakeupTests {
    @Test func wakeUpsCoalesceAndAreConsumedByTheWait() {
        let wakeup = Wakeup()
        wakeup.wake()
        wakeup.wake()
        wakeup.wake()
        #expect(wakeup.wait(timeout: .seconds(5)).woken)
        #expect(!wakeup.wait(timeout: .zero).woken)
    }

    @Test func waitOnSeveralSaysWhichWereWoken() {
        let commits = Wakeup()
        let reports = Wakeup()
        reports.wake()
        let first = Wakeup.wait(for: [commits, reports], timeout: .seconds(5))
        #expect(first.woken == [false, true])
        #expect(!first.socketReadable)
        commits.wake()
        reports.wake()
        #expect(Wakeup.wait(for: [commits, reports], timeout: .seconds(5)).woken == [true, true])
        #expect(Wakeup.wait(for: [commits, reports], timeout: .milliseconds(10)).woken == [false, false])
    }

    @Test func aWakeFromAnotherThreadEndsTheWait() {
        let wakeup = Wakeup()
        let other = Wakeup()
        Thread.detachNewThread { other.wake() }
        #expect(Wakeup.wait(for: [wakeup, other], timeout: .seconds(30)).woken == [false, true])
    }
}
