import Foundation
import OutboxdKafka
import OutboxdPostgres
import OutboxdTestSupport
import Testing

/// The binary under operational events: SIGTERM with requests in flight, PostgreSQL restarts.
@Suite struct LifecycleTests {
    /// G8: requests that are in flight when SIGTERM arrives are all answered (201, rows written),
    /// new connections are refused, and the process exits 0. Group commit is off so that each
    /// request is one session waiting on the lock, which the test can count; group commit under
    /// SIGTERM is covered by `RelayProcessTests.sigtermUnderLoadLeavesNothingAcknowledgedUnpublished`.
    @Test func sigtermFinishesRequestsInFlightThenExitsZero() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let daemon = try DaemonProcess(arguments: ["serve", "--http-listen", "127.0.0.1:0", "--shutdown-timeout", "30s"],
                                       environment: ["DATABASE_URL": database.url, "GROUP_COMMIT": "off"])
        let port = try daemon.waitForPort()

        // Hold the tasks table so every POST is in flight inside the daemon, waiting on the lock.
        let blocker = try database.connect()
        try blocker.executeScript("BEGIN; LOCK TABLE tasks IN EXCLUSIVE MODE")
        let inFlight = 6
        let results = Collected<Int>()
        let requests = Thread {
            concurrently(inFlight) { n in
                do {
                    let response = try HTTPTestClient(port: port, timeoutSeconds: 60).json("POST", "/tasks", #"{"title":"inflight \#(n)"}"#)
                    results.add(response.status)
                } catch {
                    results.add(-1)
                }
            }
        }
        requests.start()
        // Polled from another session: inside a transaction pg_stat_activity keeps its first snapshot.
        let observer = try database.connect()
        try waitUntil("all \(inFlight) inserts wait on the lock") {
            try observer.query("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
                .first!.require(Int.self, "n") == inFlight
        }
        daemon.signal(SIGTERM)
        try daemon.waitForOutput("stopping")
        try waitUntil("new connections are refused") { (try? HTTPTestClient(port: port)) == nil }
        try blocker.executeScript("COMMIT")
        try waitUntil("every request is answered") { results.all.count == inFlight }

        #expect(results.all == Array(repeating: 201, count: inFlight))
        #expect(try daemon.waitForExit() == 0)
        #expect(try database.count("tasks") == inFlight)
        #expect(try database.count("outbox") == inFlight)
    }

    /// A request during a PostgreSQL outage gets 503 + Retry-After quickly; the first one after the
    /// server is back succeeds, without restarting the daemon.
    @Test(arguments: ["fast", "immediate"])
    func postgresRestartGives503ThenRecovers(mode: String) throws {
        let cluster = try TestCluster()
        let migrate = try DaemonProcess(arguments: ["migrate"], environment: ["DATABASE_URL": cluster.url])
        #expect(try migrate.waitForExit() == 0)
        let daemon = try DaemonProcess(arguments: ["serve", "--http-listen", "127.0.0.1:0", "--database-connect-timeout", "2s"],
                                       environment: ["DATABASE_URL": cluster.url])
        let client = try HTTPTestClient(port: try daemon.waitForPort())
        #expect(try client.json("POST", "/tasks", #"{"title":"before"}"#).status == 201)

        try cluster.stop(mode: mode)
        let clock = ContinuousClock()
        let started = clock.now
        let during = try client.json("POST", "/tasks", #"{"title":"during"}"#)
        #expect(during.status == 503)
        #expect(during.header("Retry-After") == "1")
        #expect(during.header("Content-Type") == "application/problem+json")
        #expect(clock.now - started < .seconds(5))
        #expect(try client.request("GET", "/readyz").status == 503)

        try cluster.start()
        let after = try client.json("POST", "/tasks", #"{"title":"after"}"#)
        #expect(after.status == 201, "\(after.text)")
        #expect(try client.request("GET", "/readyz").status == 200)

        let connection = try PQConnection(conninfo: cluster.url)
        let titles = try connection.query("SELECT title FROM tasks ORDER BY created_at").map { try $0.require(String.self, "title") }
        #expect(titles == ["before", "after"])
        #expect(try connection.query("SELECT count(*) AS n FROM outbox").first?.require(Int.self, "n") == 2)
        daemon.signal(SIGTERM)
        #expect(try daemon.waitForExit() == 0)
    }

    /// With every broker down, a stop still ends within SHUTDOWN_TIMEOUT (not after the 30 s
    /// delivery timeout), exits 0, and leaves the unsent events pending without a failed attempt;
    /// a relay started later publishes them.
    @Test func sigtermWithBrokersDownStopsInTimeAndLeavesEventsPending() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try RDKafkaMockCluster(brokers: 3, topics: [("task-events", 3), ("task-events.dlq", 1)])
        let environment = ["DATABASE_URL": database.url, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrapServers, "CONSUMERS": "none"]
        let daemon = try DaemonProcess(arguments: ["serve", "--http-listen", "127.0.0.1:0", "--shutdown-timeout", "3s"], environment: environment)
        let client = try HTTPTestClient(port: try daemon.waitForPort())
        kafka.setAllBrokers(up: false)
        for n in 0..<3 { #expect(try client.json("POST", "/tasks", #"{"title":"unsent \#(n)"}"#).status == 201) }
        try waitUntil("the relay has the events in flight", timeout: .seconds(10)) {
            try database.count("outbox", where: "published_at IS NULL") == 3
        }
        daemon.signal(SIGTERM)
        #expect(try daemon.waitForExit(timeout: .seconds(15)) == 0, "\(daemon.output)")
        #expect(try database.count("outbox", where: "published_at IS NULL AND parked_at IS NULL AND attempts = 0") == 3)

        kafka.setAllBrokers(up: true)
        let relay = try DaemonProcess(arguments: ["relay"], environment: environment)
        try waitUntil("a new relay publishes them", timeout: .seconds(30)) { try database.count("outbox", where: "published_at IS NULL") == 0 }
        relay.signal(SIGTERM)
        #expect(try relay.waitForExit() == 0)
    }
}
