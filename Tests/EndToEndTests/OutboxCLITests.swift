import Foundation
import OutboxdCore
import OutboxdPostgres
import OutboxdTestSupport
import Testing

/// `outboxd outbox …` against real rows: tables, --json, and exit codes scripts can use.
@Suite struct OutboxCLITests {
    func outbox(_ database: TestDatabase, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = try DaemonProcess(arguments: ["outbox"] + arguments, environment: ["DATABASE_URL": database.url])
        let status = try process.waitForExit()
        return (status, process.output)
    }

    @Test func inspectAndRepairParkedPendingAndPublishedRows() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        try connection.executeScript("""
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload) SELECT 'task', 'k' || n, 'task.created', 'task-events', '{}'
            FROM generate_series(1, 4) n;
            UPDATE outbox SET parked_at = now(), attempts = 10, last_error = 'Kafka MSG_SIZE_TOO_LARGE: too big' WHERE aggregate_id = 'k1';
            UPDATE outbox SET published_at = now(), kafka_partition = 2, kafka_offset = 41 WHERE aggregate_id = 'k2';
            """)
        let parkedID = try #require(try connection.query("SELECT event_id FROM outbox WHERE aggregate_id = 'k1'").first?.require(UUID.self, "event_id"))
        let publishedID = try #require(try connection.query("SELECT event_id FROM outbox WHERE aggregate_id = 'k2'").first?.require(UUID.self, "event_id"))

        let status = try outbox(database, ["status"])
        #expect(status.status == 3) // something is parked
        #expect(status.output.contains("topic"))
        #expect(status.output.contains("task-events"))
        let json = try outbox(database, ["status", "--json"])
        let topic = try #require(try JSONParser.parse(json.output.split(separator: "\n").last.map(String.init) ?? "").arrayValue?.first?.objectValue)
        #expect(topic["pending"]?.stringValue == "2")
        #expect(topic["parked"]?.stringValue == "1")
        #expect(topic["published_last_hour"]?.stringValue == "1")

        let parked = try outbox(database, ["parked"])
        #expect(parked.status == 0)
        #expect(parked.output.contains(parkedID.lowercaseString))
        #expect(parked.output.contains("MSG_SIZE_TOO_LARGE"))
        let pending = try outbox(database, ["pending", "--limit", "1"])
        #expect(pending.output.split(separator: "\n").filter { $0.contains("task.created") }.count == 1)

        let shown = try outbox(database, ["show", publishedID.lowercaseString])
        #expect(shown.status == 0)
        #expect(shown.output.range(of: #"kafka_offset\s+41"#, options: .regularExpression) != nil)
        #expect(shown.output.range(of: #"\ntombstone\s+f\n"#, options: .regularExpression) != nil, "\(shown.output)")
        #expect(try outbox(database, ["show", UUID().lowercaseString]).status == 2)

        #expect(try outbox(database, ["retry", UUID().lowercaseString]).status == 2)
        let retried = try outbox(database, ["retry", parkedID.lowercaseString])
        #expect(retried.status == 0)
        #expect(retried.output.contains("1 of 1 events made due now"))
        #expect(try database.count("outbox_parked") == 0)
        #expect(try database.count("outbox_pending") == 3)
        #expect(try outbox(database, ["status"]).status == 0)
        #expect(try outbox(database, ["retry-parked"]).status == 2)

        let replay = try outbox(database, ["replay", "--from", "2000-01-01T00:00:00Z", "--to", "2100-01-01T00:00:00Z", "--no-wait", "--json"])
        #expect(replay.status == 0)
        #expect(replay.output.contains(#"{"replayed":1}"#))
        #expect(try database.count("outbox_pending") == 4)
    }

    @Test(arguments: [
        (["nonsense"], "unknown outbox subcommand"),
        (["show", "not-a-uuid"], "needs one event id"),
        (["replay", "--from", "2026-11-24T08:00:00Z"], "needs --to"),
        (["pending", "--limit", "0"], "--limit must be"),
        ([], "needs a subcommand"),
    ])
    func usageErrorsExit64(arguments: [String], message: String) throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let result = try outbox(database, arguments)
        #expect(result.status == 64)
        #expect(result.output.contains(message))
    }
}
