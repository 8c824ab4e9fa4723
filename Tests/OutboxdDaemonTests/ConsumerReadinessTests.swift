import Foundation
import OutboxdCore
import OutboxdPostgres
import OutboxdTestSupport
import Testing
@testable import OutboxdDaemon

/// Issue #28: a consumer that makes no progress on a partition with records to process shows in
/// `/readyz` (503, the partition and offset) and in `/metrics` once `CONSUMER_STALL_TIMEOUT` has
/// passed, and is ready again once it applies the record.
@Suite struct ConsumerReadinessTests {
    @Test func aStalledConsumerMakesReadyz503WithItsPartitionAndOffsetUntilItMovesOn() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        var configuration = DaemonLifecycleTests.configuration(database)
        configuration.consumers.enabled = ["audit"]
        configuration.consumers.stallTimeout = .seconds(1)
        let daemon = Daemon(configuration: configuration, parts: [.api, .relay, .consumers])
        try daemon.start(migrate: false)
        defer { daemon.stop() }
        let client = try HTTPTestClient(port: daemon.httpPort)
        let json = [("Content-Type", "application/json")]
        #expect(try client.request("POST", "/tasks", headers: json, body: Array(#"{"title":"first"}"#.utf8)).status == 201)
        try waitUntil("the first task is audited and /readyz is 200") {
            try database.count("audit_log") == 1 && client.request("GET", "/readyz").status == 200
        }

        // The audit consumer's INSERT waits for this lock: it has a record and applies nothing.
        let blocker = try database.connect()
        try blocker.executeScript("BEGIN; LOCK TABLE audit_log IN ACCESS EXCLUSIVE MODE")
        #expect(try client.request("POST", "/tasks", headers: json, body: Array(#"{"title":"stuck"}"#.utf8)).status == 201)
        try waitUntil("the event is published") { try database.count("outbox", where: "kafka_offset IS NOT NULL") == 2 }
        let published = try #require(try database.connect().query("""
            SELECT kafka_partition, kafka_offset FROM outbox WHERE payload->'task'->>'title' = 'stuck'
            """).first)
        var stalled: JSONObject?
        var body: JSONValue = .null
        try waitUntil("/readyz is 503 with the audit consumer stalled", timeout: .seconds(30)) {
            let ready = try client.request("GET", "/readyz")
            body = try ready.json()
            let consumers = body.objectValue?["components"]?.objectValue?["consumers"]?.objectValue
            stalled = consumers?["audit"]?.objectValue?["stalled"]?.arrayValue?.first?.objectValue
            return ready.status == 503 && consumers?["status"]?.stringValue == "down" && stalled != nil
        }
        #expect(body.objectValue?["status"]?.stringValue == "not_ready")
        #expect(stalled?["partition"]?.intValue == (try published.require(Int.self, "kafka_partition")), "\(JSONWriter.string(body))")
        #expect(stalled?["offset"]?.intValue == (try published.require(Int.self, "kafka_offset")), "\(JSONWriter.string(body))")
        #expect((stalled?["waited_seconds"]?.intValue ?? -1) >= 1)
        for other in ["database", "parts"] {
            #expect(body.objectValue?["components"]?.objectValue?[other]?.objectValue?["status"]?.stringValue == "up", "\(other)")
        }
        let metrics = try PrometheusScrape(String(decoding: try client.request("GET", "/metrics").body, as: UTF8.self))
        #expect(metrics.value("outboxd_consumer_stalled_partitions", ["consumer": "audit"]) == 1)

        try blocker.executeScript("ROLLBACK")
        try waitUntil("the record is applied and /readyz is 200 again") {
            try database.count("audit_log") == 2 && client.request("GET", "/readyz").status == 200
        }
        let after = try PrometheusScrape(String(decoding: try client.request("GET", "/metrics").body, as: UTF8.self))
        #expect(after.value("outboxd_consumer_stalled_partitions", ["consumer": "audit"]) == 0)
        #expect(daemon.failedPart == nil, "a stall ends no part: nothing restarts for it")
    }
}
