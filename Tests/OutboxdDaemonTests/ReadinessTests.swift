import Foundation
import OutboxdCore
import OutboxdPostgres
import OutboxdTestSupport
import Testing
@testable import OutboxdDaemon

/// `/readyz` is open by default: with PostgreSQL down it names what is wrong in a few safe words,
/// never libpq's text (server address, port, user), which goes to the log instead.
@Suite struct ReadinessTests {
    static let safeRelayErrors: Set<String> = ["database unreachable", "database connection lost", "database server starting or stopping"]

    @Test func aDatabaseDownIsClassifiedWithoutItsAddress() throws {
        let cluster = try TestCluster()
        let port = try #require(cluster.url.split(separator: ":").last?.split(separator: "/").first.map(String.init))
        var configuration = Configuration()
        configuration.database.conninfo = cluster.url
        configuration.database.maxConnections = 4
        configuration.database.connectTimeout = .seconds(2)
        configuration.http.port = 0
        configuration.migrationsDirectory = TestEnvironment.migrationsDirectory
        configuration.shutdownTimeout = .seconds(10)
        configuration.relay.pollInterval = .milliseconds(100)
        configuration.relay.backoffBase = .milliseconds(50)
        configuration.relay.backoffMaximum = .milliseconds(200)
        let daemon = Daemon(configuration: configuration, parts: [.api, .relay])
        try daemon.start(migrate: true)
        defer { daemon.stop() }
        let client = try HTTPTestClient(port: daemon.httpPort)
        #expect(try client.request("GET", "/readyz").status == 200)
        let capture = LogCapture()
        defer { capture.close() }

        try cluster.stop(mode: "immediate")
        var body = "", databaseError: String?, relayError: String?
        try waitUntil("/readyz shows the database and the relay down", timeout: .seconds(60)) {
            let ready = try client.request("GET", "/readyz")
            let components = try ready.json().objectValue?["components"]?.objectValue
            // The embedded cluster's own address is shown on purpose (kcat); the database's never.
            body = JSONWriter.string(components?["database"] ?? .null) + JSONWriter.string(components?["relay"] ?? .null)
            databaseError = components?["database"]?.objectValue?["error"]?.stringValue
            relayError = components?["relay"]?.objectValue?["last_error"]?.stringValue
            return ready.status == 503 && databaseError != nil && relayError != nil
        }
        #expect(databaseError == "unreachable")
        #expect(relayError.map(Self.safeRelayErrors.contains) == true, "\(relayError ?? "")")
        for leak in ["127.0.0.1", port, "refused", "postgres", "connection to server"] {
            #expect(!body.contains(leak), "\(leak) in \(body)")
        }
        let logged = capture.lines.filter { $0.contains("database check failed") }
        #expect(logged.count == 1, "\(logged)")
        #expect(logged.first?.contains("classification=unreachable") == true)
        #expect(logged.first?.contains(port) == true, "the details stay in the log: \(logged)")

        try cluster.start()
        try waitUntil("/readyz is ready again", timeout: .seconds(60)) { try client.request("GET", "/readyz").status == 200 }
        #expect(capture.lines.contains { $0.contains("database reachable again") })
    }

    @Test func classificationsNameNoServerText() {
        let cases: [(PostgresErrorCase, String)] = [
            (.init(.connectionUnavailable, "", #"connection to server at "10.1.2.3", port 5432 failed: Connection refused"#), "unreachable"),
            (.init(.connectionUnavailable, "", #"connection to server at "db" (10.1.2.3), port 5432 failed: FATAL:  password authentication failed for user "app""#), "auth failed"),
            (.init(.connectionUnavailable, "", #"connection to server at "db", port 5432 failed: FATAL:  no pg_hba.conf entry for host "10.0.0.9", user "app""#), "auth failed"),
            (.init(.connectionUnavailable, "", "connection to server at \"db\", port 5432 failed: timeout expired"), "timeout"),
            (.init(.connectionUnavailable, "", #"connection to server at "db", port 5432 failed: FATAL:  database "shop" does not exist"#), "no such database"),
            (.init(.connectionUnavailable, "", "could not translate host name \"db.internal\" to address: Name or service not known"), "unreachable"),
            (.init(.connectionUnavailable, "", "connection to server at \"db\", port 5432 failed: FATAL:  the database system is starting up"), "server starting or stopping"),
            (.init(.connectionUnavailable, "", "server closed the connection unexpectedly"), "connection lost"),
            (.init(.server, "42P01", #"relation "outbox" does not exist"#), "schema"),
            (.init(.server, "57014", "canceling statement due to statement timeout"), "timeout"),
            (.init(.server, "28P01", "password authentication failed for user \"app\""), "auth failed"),
            (.init(.server, "23505", "duplicate key value violates unique constraint"), "query failed"),
            (.init(.poolTimeout, "", "no connection free within 2s"), "pool exhausted"),
        ]
        for (error, expected) in cases {
            #expect(error.error.classification == expected, "\(error.error.message)")
        }
    }
}

struct PostgresErrorCase {
    let error: PostgresError
    init(_ kind: PostgresError.Kind, _ code: String, _ message: String) {
        error = PostgresError(kind: kind, code: PostgresError.Code(code), message: message)
    }
}

/// A relay with rows due that delivers and parks nothing (issue #28): `/readyz` shows it down
/// with the row it waits on and why, `/readyz/api` stays ready (the API takes writes, G4), and
/// the process goes on; once the brokers are back it is ready again.
@Suite struct RelayStallReadinessTests {
    @Test func aStalledRelayIsNotReadyTheAPIIs() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        var configuration = DaemonLifecycleTests.configuration(database)
        configuration.relay.deliveryTimeout = .milliseconds(500)
        configuration.relay.backoffBase = .milliseconds(50)
        configuration.relay.backoffMaximum = .milliseconds(200)
        configuration.relay.stallTimeout = .seconds(2)
        let daemon = Daemon(configuration: configuration, parts: [.api, .relay])
        try daemon.start(migrate: false)
        defer { daemon.stop() }
        let client = try HTTPTestClient(port: daemon.httpPort)
        #expect(try client.request("GET", "/readyz").status == 200)
        let cluster = try #require(daemon.running.withLock { $0.embedded })
        cluster.setAllBrokers(up: false)
        let created = try client.request("POST", "/tasks", headers: [("Content-Type", "application/json")], body: Array(#"{"title":"stalled"}"#.utf8))
        #expect(created.status == 201)
        var relay = JSONObject()
        try waitUntil("/readyz shows the relay stalled", timeout: .seconds(30)) {
            let ready = try client.request("GET", "/readyz")
            relay = try ready.json().objectValue?["components"]?.objectValue?["relay"]?.objectValue ?? JSONObject()
            return ready.status == 503 && relay["status"]?.stringValue == "down" && relay["waiting_on"]?.objectValue?["reason"]?.stringValue == "_MSG_TIMED_OUT"
        }
        let waiting = try #require(relay["waiting_on"]?.objectValue)
        let id = try #require(try database.scalar("SELECT id FROM outbox", as: Int64.self))
        #expect(waiting["outbox_id"]?.stringValue == String(id))
        #expect(waiting["reason"]?.stringValue == "_MSG_TIMED_OUT", "\(waiting)")
        #expect(relay["stalled_seconds"]?.numberText.flatMap { Int($0) }.map { $0 >= 2 } == true)
        let api = try client.request("GET", "/readyz/api")
        #expect(api.status == 200)
        #expect(try api.json().objectValue?["components"]?.objectValue?["relay"] == nil)
        let metrics = String(decoding: try client.request("GET", "/metrics").body, as: UTF8.self)
        let stalled = metrics.split(separator: "\n").first { $0.hasPrefix("outboxd_relay_stalled_seconds ") }
        #expect(stalled.flatMap { Double($0.split(separator: " ")[1]) }.map { $0 >= 2 } == true, "\(stalled ?? "")")

        cluster.setAllBrokers(up: true)
        try waitUntil("/readyz is ready again", timeout: .seconds(60)) { try client.request("GET", "/readyz").status == 200 }
        #expect(try database.count("outbox", where: "published_at IS NOT NULL") == 1)
    }
}
