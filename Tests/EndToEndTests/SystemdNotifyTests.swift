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
        try daemon.waitForOutput("watchdog pings withheld problem=\"relay loop")

        try blocker.executeScript("ROLLBACK")
        #expect(socket.receive(until: { $0 == "WATCHDOG=1" }, timeout: .seconds(10)) != nil)

        daemon.signal(SIGTERM)
        #expect(socket.receive(until: { $0 == "STOPPING=1" }, timeout: .seconds(10)) != nil)
        #expect(try daemon.waitForExit() == 0)
    }

    /// The watchdog also needs the HTTP server to answer: with every connection slot taken (here
    /// by two idle keep-alive clients, HTTP_MAX_CONNECTIONS=2) its probe of GET /healthz fails
    /// and pings stop; they resume once the slots are free.
    ///
    /// The watchdog's own probe (every 500 ms) may hold one of the two slots just when a client
    /// connects, and then the server resets that client's connection (`recv failed: errno 104`),
    /// so each client connects again until it holds a slot and gets 200 (bounded by 20 s).
    @Test func watchdogWaitsForTheHTTPServerToAnswer() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let socket = try NotifySocket()
        let daemon = try DaemonProcess(arguments: ["serve", "--http-listen", "127.0.0.1:0"], environment: [
            "DATABASE_URL": database.url, "NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "1000000", "CONSUMERS": "none",
            "HTTP_MAX_CONNECTIONS": "2", "HTTP_IDLE_TIMEOUT": "120s",
        ])
        let port = try daemon.waitForPort()
        #expect(socket.receive(until: { $0 == "WATCHDOG=1" }, timeout: .seconds(30)) != nil)

        var clients: [HTTPTestClient] = []
        for number in 1...2 {
            var failures: [String] = []
            do {
                try waitUntil("client \(number) holds a connection slot", timeout: .seconds(20)) {
                    do {
                        let client = try HTTPTestClient(port: port, timeoutSeconds: 5)
                        let status = try client.request("GET", "/healthz").status
                        guard status == 200 else {
                            failures.append("answered \(status)")
                            return false
                        }
                        clients.append(client)
                        return true
                    } catch {
                        failures.append("\(error)")
                        return false
                    }
                }
            } catch {
                throw HTTPTestError("client \(number) got no slot answering GET /healthz with 200 within 20 s; tries: \(failures)\n\(daemon.output.suffix(4000))")
            }
            if !failures.isEmpty { print("client \(number) connected again after: \(failures)") }
        }
        #expect(clients.count == 2)
        try daemon.waitForOutput("watchdog pings withheld problem=\"HTTP server on port \(port)", timeout: .seconds(20))
        _ = socket.receive(until: { _ in false }, timeout: .milliseconds(100)) // drop pings sent before
        #expect(socket.receive(until: { $0 == "WATCHDOG=1" }, timeout: .seconds(3)) == nil, "pings went on while the server was full")

        clients.removeAll()
        #expect(socket.receive(until: { $0 == "WATCHDOG=1" }, timeout: .seconds(20)) != nil)
        try daemon.waitForOutput("healthy again; watchdog pings resume")
        daemon.signal(SIGTERM)
        #expect(try daemon.waitForExit() == 0)
    }
}
