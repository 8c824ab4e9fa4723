import Dispatch
import Foundation
import OutboxdTestSupport
import Testing
@testable import OutboxdDaemon

@Suite struct SystemdNotifierTests {
    /// Found by the connection-flood test: the notify socket holds 10 datagrams
    /// (net.unix.max_dgram_qlen) and the watchdog thread blocked in sendto on the eleventh while
    /// the reader lagged, so the daemon's stop, which waits for that thread, hung. A notification
    /// the socket cannot take now is dropped instead, and the ones after it get through again.
    @Test func aLaggingReaderNeverBlocksTheSender() throws {
        let socket = try NotifySocket()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.path])
        let returned = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            for n in 0..<50 { notifier.notify("STATUS=\(n)") }
            returned.signal()
        }
        #expect(returned.wait(timeout: .now() + 30) == .success, "notify blocked on a full socket")
        var first: [String] = []
        while let datagram = socket.receive(timeout: .milliseconds(100)) { first.append(datagram) }
        #expect(first.first == "STATUS=0")
        #expect(first.count < 50, "the socket took all 50 at once: this machine's queue is longer than the test assumes")
        notifier.notify("READY=1")
        #expect(socket.receive(timeout: .seconds(5)) == "READY=1")
    }
}
