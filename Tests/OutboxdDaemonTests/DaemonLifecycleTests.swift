import Dispatch
import Foundation
import OutboxdCore
import OutboxdPostgres
import OutboxdTestSupport
import Synchronization
import Testing
@testable import OutboxdDaemon

/// The daemon's parts in one `WorkerGroup` (issue #15): one start order, the purge as a part of
/// every process that runs a relay, and a part that ends by itself making the daemon not ready
/// and asking the process to stop.
@Suite struct DaemonLifecycleTests {
    static func configuration(_ database: TestDatabase) -> Configuration {
        var configuration = Configuration()
        configuration.database.conninfo = database.url
        configuration.database.maxConnections = 4
        configuration.http.port = 0
        configuration.migrationsDirectory = TestEnvironment.migrationsDirectory
        configuration.shutdownTimeout = .seconds(10)
        configuration.relay.pollInterval = .milliseconds(100)
        return configuration
    }

    @Test func everyPartStartsInOneOrderAndARelayProcessPurges() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        try database.connect().executeScript("""
            -- History as the relay would have left it: its columns are refused from writers (migration 0011)
            SET session_replication_role = replica;
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload, published_at, kafka_partition, kafka_offset)
            VALUES ('task', 'old', 'task.created', 'task-events', '{}', now() - interval '2 hours', 0, 1),
                   ('task', 'young', 'task.created', 'task-events', '{}', now() - interval '1 minute', 0, 2);
            RESET session_replication_role
            """)
        let serve = Daemon(configuration: Self.configuration(database), parts: [.api, .relay, .consumers])
        try serve.start(migrate: false)
        defer { serve.stop() }
        #expect(serve.partNames == ["kafka-producer", "published-notifier", "relay", "notifier",
                                    "consumer-audit", "notifications", "consumer-notifications", "reminders", "consumer-reminders",
                                    "outbox-purge", "group-commit", "http", "delivery-wait"])
        try waitUntil("the purge deletes the old published row") { try database.count("outbox", where: "aggregate_id = 'old'") == 0 }
        #expect(try database.count("outbox", where: "aggregate_id = 'young'") == 1)
        serve.stop()

        var noHistory = Self.configuration(database)
        noHistory.relay.retention = .zero
        let relay = Daemon(configuration: noHistory, parts: [.relay])
        try relay.start(migrate: false)
        defer { relay.stop() }
        #expect(relay.partNames == ["kafka-producer", "published-notifier", "relay", "outbox-purge"],
                "retention 0: the purge still drops the published counts past an hour")
        let api = Daemon(configuration: Self.configuration(database), parts: [.api])
        try api.start(migrate: false)
        defer { api.stop() }
        #expect(!api.partNames.contains("outbox-purge"), "no relay, no purge")
    }

    /// The relay ends by itself on a fatal producer error: the daemon's group reports it once,
    /// `/readyz` answers 503 naming the part, and a stop afterwards still returns.
    @Test func aPartThatEndsByItselfMakesTheDaemonNotReadyAndAsksToStop() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let reasons = Mutex<[String]>([])
        let reported = DispatchSemaphore(value: 0)
        let daemon = Daemon(configuration: Self.configuration(database), parts: [.api, .relay], onFailure: { reason in
            reasons.withLock { $0.append(reason) }
            reported.signal()
        })
        try daemon.start(migrate: false)
        defer { daemon.stop() }
        let client = try HTTPTestClient(port: daemon.httpPort)
        #expect(try client.request("GET", "/readyz").status == 200)
        try #require(daemon.running.withLock { $0.producer }).raiseFatalErrorForTesting("test: broken sequence")
        let created = try client.request("POST", "/tasks", headers: [("Content-Type", "application/json")], body: Array(#"{"title":"after the fatal error"}"#.utf8))
        #expect(created.status == 201)
        #expect(reported.wait(timeout: .now() + 60) == .success, "the policy was not set off")
        let all = reasons.withLock { $0 }
        #expect(all.count == 1)
        #expect(all.first?.hasPrefix("relay failed: Kafka producer fatal error") == true, "\(all)")
        let ready = try client.request("GET", "/readyz")
        #expect(ready.status == 503)
        #expect(try ready.json().objectValue?["components"]?.objectValue?["parts"]?.objectValue?["ended"]?.stringValue == "relay")
        daemon.stop()
        #expect(reasons.withLock { $0.count } == 1)
    }

    /// Issue #15: a consumer whose Kafka client cannot be made while serving (here settings the
    /// check on loading would refuse, max.poll.interval.ms below session.timeout.ms, given to the
    /// daemon directly) ends by itself: the daemon is not ready and asks the process to stop
    /// (exit 75), instead of running on without it.
    @Test func aConsumerThatCannotStartStopsTheProcess() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        var configuration = Self.configuration(database)
        configuration.consumers.enabled = ["audit"]
        configuration.kafka.passthrough = ["session.timeout.ms": "60000", "max.poll.interval.ms": "10000"]
        let reasons = Mutex<[String]>([])
        let reported = DispatchSemaphore(value: 0)
        let daemon = Daemon(configuration: configuration, parts: [.consumers], onFailure: { reason in
            reasons.withLock { $0.append(reason) }
            reported.signal()
        })
        do {
            try daemon.start(migrate: false)
        } catch {
            // The consumer may end before start returns: then start says so.
            #expect("\(error)".contains("consumer-audit ended while starting"), "\(error)")
        }
        defer { daemon.stop() }
        #expect(reported.wait(timeout: .now() + 60) == .success, "the policy was not set off")
        #expect(reasons.withLock { $0 }.first?.contains("the audit consumer cannot start") == true, "\(reasons.withLock { $0 })")
        #expect(daemon.failedPart == "consumer-audit")
    }
}
