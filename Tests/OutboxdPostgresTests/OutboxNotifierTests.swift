import Dispatch
import Foundation
import OutboxdCore
import OutboxdTestSupport
import Testing
@testable import OutboxdPostgres

@Suite struct OutboxNotifierTests {
    /// Issue #15: `stop` waited for a thread that `start` had never started, or that a first
    /// `stop` had already ended, and hung. Now both return, and a started notifier still
    /// delivers its NOTIFY before the first stop.
    @Test func stopBeforeStartAndStopTwiceReturn() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let configuration = PostgresPoolConfiguration(conninfo: database.url, maxConnections: 1)
        let listener = try database.connect()
        try listener.listen("notifier_test")

        let returned = DispatchSemaphore(value: 0)
        let unstarted = OutboxNotifier(database: configuration, channel: "notifier_test")
        let notifier = OutboxNotifier(database: configuration, channel: "notifier_test")
        notifier.start()
        notifier.notify()
        var heard = 0
        try waitUntil("the NOTIFY arrives", timeout: .seconds(20)) {
            _ = Wakeup().wait(timeout: .milliseconds(50), socket: listener.socketDescriptor)
            heard += try listener.drainNotifications()
            return heard > 0
        }
        Thread.detachNewThread {
            unstarted.stop()
            notifier.stop()
            notifier.stop()
            returned.signal()
        }
        #expect(returned.wait(timeout: .now() + 20) == .success, "stop hung")
    }
}
