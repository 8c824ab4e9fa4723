import Foundation
import Glibc
import OutboxdCore
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

    /// Issue #14: a flood of connections that each send a partial request line, from one address,
    /// used to take every thread-per-connection slot; the watchdog's own probe then failed and
    /// systemd restarted the whole daemon for as long as the flood lasted. Now the flood meets the
    /// per-address limit, other addresses are served, and a listener at its total limit is
    /// reported (log, /metrics, /readyz) while the pings go on: full is not stuck.
    @Test func aConnectionFloodNeitherStopsTheWatchdogNorOtherClients() throws {
        try Self.raiseOpenFilesLimit(to: 4096)
        let database = try TestDatabase.create()
        defer { database.drop() }
        let socket = try NotifySocket()
        let daemon = try DaemonProcess(arguments: ["serve", "--http-listen", "127.0.0.1:0"], environment: [
            "DATABASE_URL": database.url, "NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "1000000", "CONSUMERS": "none",
            "HTTP_MAX_CONNECTIONS": "300", "HTTP_MAX_CONNECTIONS_PER_ADDRESS": "150",
            "HTTP_IDLE_TIMEOUT": "600s", "HTTP_REQUEST_TIMEOUT": "600s",
        ])
        let port = try daemon.waitForPort()
        #expect(socket.receive(until: { $0 == "WATCHDOG=1" }, timeout: .seconds(30)) != nil)

        var flood: [Int32] = []
        defer { flood.forEach { close($0) } }
        let partial = Array("GET /tasks HTTP/1.1\r\nHo".utf8)
        func open(_ count: Int, from source: String) {
            for _ in 0..<count {
                guard let fd = try? LoopbackSocket.connect(port: port, timeout: .seconds(5), from: source) else { continue }
                _ = partial.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                flood.append(fd)
            }
        }
        open(1100, from: "127.0.0.1")
        try daemon.waitForOutput("per-address connection limit reached", timeout: .seconds(20))
        _ = socket.receive(until: { _ in false }, timeout: .milliseconds(100))
        #expect(socket.receive(until: { $0 == "WATCHDOG=1" }, timeout: .seconds(5)) != nil, "pings stopped under the flood")
        let other = try HTTPTestClient(port: port, timeoutSeconds: 10, from: "127.0.0.2")
        #expect(try other.request("GET", "/healthz").status == 200)
        let metrics = try other.request("GET", "/metrics").text
        let refused = try PrometheusScrape(metrics).value("outboxd_http_connections_refused_total", ["listener": "api", "reason": "per_address_limit"])
        #expect((refused ?? 0) >= 900, "refused \(String(describing: refused))")
        #expect(try PrometheusScrape(metrics).value("outboxd_http_connections", ["listener": "api"]) ?? 0 >= 150)

        // Every slot taken, from other addresses: a new client is refused, the pings go on.
        open(150, from: "127.0.0.3")
        try daemon.waitForOutput("connection limit reached; new connections are refused", timeout: .seconds(20))
        _ = socket.receive(until: { _ in false }, timeout: .milliseconds(100))
        #expect(socket.receive(until: { $0 == "WATCHDOG=1" }, timeout: .seconds(5)) != nil, "pings stopped while the listener was full")
        #expect((try? HTTPTestClient(port: port, timeoutSeconds: 5, from: "127.0.0.4").request("GET", "/healthz")) == nil,
                "a client got through a full listener")

        flood.forEach { close($0) }
        flood.removeAll()
        _ = other // its connection is the one left open
        var readiness: JSONValue = .null
        try waitUntil("the flood's connections are closed", timeout: .seconds(20)) {
            guard let response = try? HTTPTestClient(port: port, timeoutSeconds: 5, from: "127.0.0.5").request("GET", "/readyz") else { return false }
            readiness = try response.json()
            // This client's connection and `other`'s stay open.
            return response.status == 200 && readiness["components"]?["http"]?["api"]?["connections"] == .int(2)
        }
        let api = readiness["components"]?["http"]?["api"]
        #expect((api?["refused"]?["connection_limit"]?.intValue ?? 0) >= 1)
        #expect(api?["at_limit"] == .bool(false))
        #expect(!daemon.output.contains("watchdog pings withheld"))
        daemon.signal(SIGTERM)
        #expect(try daemon.waitForExit() == 0)
    }

    static func raiseOpenFilesLimit(to wanted: Int) throws {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { throw HTTPTestError("getrlimit failed") }
        guard limit.rlim_cur < rlim_t(wanted) else { return }
        limit.rlim_cur = min(rlim_t(wanted), limit.rlim_max)
        guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur >= rlim_t(wanted) else {
            throw HTTPTestError("cannot raise the open-files limit to \(wanted) (hard limit \(limit.rlim_max))")
        }
    }
}
