import Foundation
import OutboxdPostgres
import OutboxdTestSupport
import Testing
@testable import OutboxdOutbox

/// `OutboxInspection` on an outbox with a large published history: the pending count, the backlog
/// per topic, the CLI's status, pending and parked lists read the queue of the rows waiting
/// (migration 0014) and those rows by id, never the published rows, and count right.
@Suite struct OutboxInspectionTests {
    @Test func waitingRowsAreReadFromThePartialIndexesAndCounted() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        defer { connection.close() }
        try connection.executeScript("""
            -- History as the relay would have left it: its columns are refused from writers (migration 0011)
            SET session_replication_role = replica;
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload, published_at)
            SELECT 'task', 'k' || n, 'task.created', 'task-events', '{}', now() FROM generate_series(1, 20000) n;
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload)
            SELECT 'task', 'p' || n, 'task.created', 'task-events', '{}' FROM generate_series(1, 3) n;
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload, next_attempt_at, attempts)
            VALUES ('task', 'b1', 'task.created', 'task-events', '{}', now() + interval '1 hour', 1);
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload, parked_at)
            VALUES ('task', 'x1', 'task.created', 'other-events', '{}', now()),
                   ('task', 'x2', 'task.created', 'task-events', '{}', now());
            ANALYZE outbox;
            RESET session_replication_role
            """)
        try connection.executeScript("ANALYZE outbox_queue")
        let statements: [(PostgresStatement, [(any PostgresParameter)?], [String])] = [
            (OutboxInspection.pendingCount, [], ["outbox_queue"]),
            (OutboxInspection.backlogByTopic, [], ["outbox_queue", "outbox_pkey"]),
            (OutboxInspection.status, [], ["outbox_queue", "outbox_pkey", "outbox_published_counts"]),
            (OutboxInspection.pending, [20], ["outbox_queue", "outbox_pkey"]),
            (OutboxInspection.parked, [20], ["outbox_queue", "outbox_pkey"]),
        ]
        for (statement, parameters, relations) in statements {
            let plan = try connection.query("EXPLAIN " + statement.sql, parameters).map { try $0.require(String.self, "QUERY PLAN") }
                .joined(separator: "\n")
            #expect(!plan.contains("Seq Scan on outbox "), "\(statement.name) reads the whole outbox:\n\(plan)")
            for relation in relations { #expect(plan.contains(relation), "\(statement.name) does not read \(relation):\n\(plan)") }
        }

        #expect(try OutboxInspection.pendingCount(on: connection) == 4)
        let backlog = try OutboxInspection.backlogByTopic(on: connection).sorted { $0.topic < $1.topic }
        #expect(backlog.map(\.topic) == ["other-events", "task-events"])
        #expect(backlog.map(\.pending) == [0, 4])
        #expect(backlog.map(\.parked) == [1, 1])
        #expect(backlog[0].oldestPendingAge == 0)
        #expect(backlog[1].oldestPendingAge >= 0)
        #expect(try OutboxInspection.pending(limit: 20, on: connection).map { try $0.require(String.self, "key") } == ["p1", "p2", "p3", "b1"])
        #expect(try OutboxInspection.parked(limit: 1, on: connection).map { try $0.require(String.self, "key") } == ["x1"])
    }
}
