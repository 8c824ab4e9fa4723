import Foundation
import OutboxdPostgres
import OutboxdTestSupport
import Testing
@testable import OutboxdDaemon

/// The `/metrics` backlog per topic, on an outbox with a large published history; that its query
/// reads only the rows waiting is `OutboxInspectionTests`'.
@Suite struct BacklogMetricsTests {
    @Test func theScrapeShowsPendingAndParkedPerTopic() throws {
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
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload, parked_at)
            VALUES ('task', 'x1', 'task.created', 'other-events', '{}', now()),
                   ('task', 'x2', 'task.created', 'task-events', '{}', now());
            ANALYZE outbox;
            RESET session_replication_role
            """)
        let pool = database.pool(size: 1)
        defer { pool.close() }
        var text = ""
        BacklogMetrics(pool: pool, topic: "task-events").render(into: &text)
        let scrape = try PrometheusScrape(text)
        #expect(scrape.value("outboxd_database_up") == 1)
        #expect(scrape.value("outboxd_outbox_pending", ["topic": "task-events"]) == 3)
        #expect(scrape.value("outboxd_outbox_parked", ["topic": "task-events"]) == 1)
        #expect(scrape.value("outboxd_outbox_pending", ["topic": "other-events"]) == 0)
        #expect(scrape.value("outboxd_outbox_parked", ["topic": "other-events"]) == 1)
        #expect(scrape.value("outboxd_outbox_oldest_pending_age_seconds", ["topic": "other-events"]) == 0)
        #expect((scrape.value("outboxd_outbox_oldest_pending_age_seconds", ["topic": "task-events"]) ?? -1) >= 0)
    }
}
