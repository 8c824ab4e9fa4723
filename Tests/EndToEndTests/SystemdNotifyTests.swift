import Foundation
import OutboxdPostgres
import OutboxdTestSupport
import Testing

/// The notify protocol as systemd sees it, on a fake NOTIFY_SOCKET.
@Suite struct SystemdNotifyTests {
    /// READY=1 once everything runs, STATUS= with the backlog, WATCHDOG=1 while the relay goes
    /// round — withheld while it is stuck (here: the outbox table locked), resumed after — and
    /// STOPPING=1 on SIGTERM.
    @Test func readyWatchdogAndStopping() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let socket = try NotifySocket()
        let daemon = try DaemonProcess(arguments: ["serve", "--http-listen", "127.0.0.1:0"], environment: [
            "DATABASE_URL": database.url, "NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "1000000",
            "RELAY_DELIVERY_TIMEOUT": "1s", "RELAY_POLL_INTERVAL": "200ms", "CONSUMERS": "none",
        ])
        let ready = try #require(socket.receive(until: { $0.contains("READY=1") }, timeout: .seconds(30)))
        #expect(ready.contains("STATUS=ready: api,relay"))
        #expect(socket.receive(until: { $0.hasPrefix("STATUS=pending=0") }, timeout: .seconds(15)) != nil)
        #expect(socket.receive(until: { $0 == "WATCHDOG=1" }, timeout: .seconds(5)) != nil)

        // Stuck: the relay's claim waits on the lock. Pings stop within the limit (2 × 1 s + 200 ms + 1 s).
        let blocker = try database.connect()
        try blocker.executeScript("BEGIN; LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE")
        var quietFor: Duration = .zero
        let deadline = ContinuousClock.now + .seconds(20)
        while quietFor < .seconds(3), ContinuousClock.now < deadline {
            let started = ContinuousClock.now
            if socket.receive(until: { $0 == "WATCHDOG=1" }, timeout: .seconds(3)) == nil {
                quietFor = ContinuousClock.now - started
            }
        }
        #expect(quietFor >= .seconds(3), "watchdog pings went on while the relay was stuck")
        try daemon.waitForOutput("relay stuck; watchdog pings withheld")

        try blocker.executeScript("ROLLBACK")
        #expect(socket.receive(until: { $0 == "WATCHDOG=1" }, timeout: .seconds(10)) != nil)

        daemon.signal(SIGTERM)
        #expect(socket.receive(until: { $0 == "STOPPING=1" }, timeout: .seconds(10)) != nil)
        #expect(try daemon.waitForExit() == 0)
    }
}
