import Foundation
import Glibc
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

    @Test func waitOnSocketsSaysWhichHaveInput() throws {
        var first: [Int32] = [-1, -1], second: [Int32] = [-1, -1]
        try #require(pipe(&first) == 0 && pipe(&second) == 0)
        defer { (first + second).forEach { _ = close($0) } }
        var byte: UInt8 = 1
        #expect(write(second[1], &byte, 1) == 1)
        let wakeup = Wakeup()
        let result = Wakeup.wait(for: [wakeup], timeout: .seconds(5), sockets: [first[0], -1, second[0]])
        #expect(result.woken == [false])
        #expect(result.readable == [false, false, true])
        wakeup.wake()
        let woken = Wakeup.wait(for: [wakeup], timeout: .seconds(5), sockets: [first[0]])
        #expect(woken.woken == [true])
        #expect(woken.readable == [false])
    }
}
