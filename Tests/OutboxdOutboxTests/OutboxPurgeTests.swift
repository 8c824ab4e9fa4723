import Foundation
import OutboxdCore
import OutboxdOutbox
import OutboxdPostgres
import OutboxdTestSupport
import Testing

/// `OutboxPurge` on a `PeriodicWorker` of its own (issue #15): it deletes the rows published
/// before the retention and keeps younger published rows, pending rows and parked rows.
@Suite struct OutboxPurgeTests {
    /// A purge of an hour's retention in batches of 2 that waits an hour between runs, until the
    /// rows `old-…` are gone: one run of the worker must delete them all.
    func purgeTheOldRows(_ database: TestDatabase) throws {
        let worker = PeriodicWorker(job: OutboxPurge(retention: .seconds(3600), batch: 2),
                                    database: PostgresPoolConfiguration(conninfo: database.url, maxConnections: 1), interval: .seconds(3600))
        try worker.start()
        defer { worker.stop() }
        try waitUntil("the old rows are purged") { try database.count("outbox", where: "aggregate_id LIKE 'old-%'") == 0 }
    }

    @Test func deletesRowsPublishedBeforeTheRetentionAndKeepsTheRest() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        defer { connection.close() }
        try connection.executeScript("""
            -- History as the relay would have left it: its columns are refused from writers (migration 0011)
            SET session_replication_role = replica;
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload, created_at, published_at, kafka_partition, kafka_offset)
            SELECT 'task', 'old-' || n, 'task.created', 'task-events', '{}', now() - interval '3 hours', now() - interval '2 hours', 0, n
            FROM generate_series(1, 5) n;
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload, created_at, published_at, kafka_partition, kafka_offset)
            VALUES ('task', 'young', 'task.created', 'task-events', '{}', now() - interval '3 hours', now() - interval '10 minutes', 0, 10);
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload, created_at)
            VALUES ('task', 'pending', 'task.created', 'task-events', '{}', now() - interval '3 hours');
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload, created_at, parked_at, attempts, last_error)
            VALUES ('task', 'parked', 'task.created', 'task-events', '{}', now() - interval '3 hours', now() - interval '2 hours', 10, 'too large');
            RESET session_replication_role
            """)
        // Two rows a round and an hour between rounds: the five old rows go only if a full
        // round runs the next one at once.
        try purgeTheOldRows(database)
        let kept = try connection.query("SELECT aggregate_id FROM outbox ORDER BY aggregate_id").map { try $0.require(String.self, "aggregate_id") }
        #expect(kept == ["parked", "pending", "young"])
    }

    /// Rows published late (here: replayed, at the head of the history) wait there until they
    /// expire, and the expired rows behind them are purged at once, batch after batch.
    @Test func rowsPublishedLateAtTheHeadHoldNoExpiredRowBack() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        defer { connection.close() }
        try connection.executeScript("""
            SET session_replication_role = replica;
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload, created_at, published_at, kafka_partition, kafka_offset)
            SELECT 'task', 'replayed-' || n, 'task.created', 'task-events', '{}', now() - interval '3 hours', now() - interval '1 minute', 0, n
            FROM generate_series(1, 3) n;
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload, created_at, published_at, kafka_partition, kafka_offset)
            SELECT 'task', 'old-' || n, 'task.created', 'task-events', '{}', now() - interval '3 hours', now() - interval '2 hours', 0, 10 + n
            FROM generate_series(1, 9) n;
            RESET session_replication_role
            """)
        // Batches of 2 over a head of 20: one run of the worker, then it waits an hour.
        try purgeTheOldRows(database)
        #expect(try database.count("outbox", where: "aggregate_id LIKE 'replayed-%'") == 3)
    }

    /// Every run drops the published counts older than an hour (`outbox_backlog`'s, migration
    /// 0014); with retention 0 (the relay deletes rows as it publishes them) that is all it does.
    @Test func expiresTheCountsAndWithRetentionZeroNoRow() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        defer { connection.close() }
        try connection.executeScript("""
            SET session_replication_role = replica;
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload, created_at, published_at, kafka_partition, kafka_offset)
            VALUES ('task', 'old', 'task.created', 'task-events', '{}', now() - interval '3 hours', now() - interval '2 hours', 0, 1);
            RESET session_replication_role;
            INSERT INTO outbox_published_counts (second, topic, events)
            VALUES (date_trunc('second', now() - interval '61 minutes'), 'task-events', 7),
                   (date_trunc('second', now() - interval '59 minutes'), 'task-events', 5)
            """)
        var configuration = RelayConfiguration()
        configuration.retention = .zero
        let worker = OutboxPurge.worker(for: configuration, database: PostgresPoolConfiguration(conninfo: database.url, maxConnections: 1))
        #expect(worker.name == "outbox-purge")
        #expect(try OutboxPurge(retention: .zero).runOnce(on: connection) == false)
        #expect(try connection.query("SELECT events FROM outbox_published_counts").map { try $0.require(Int.self, "events") } == [5])
        #expect(try database.count("outbox", where: "aggregate_id = 'old'") == 1)
        let published = try connection.query("SELECT published_last_hour::int AS n FROM outbox_backlog WHERE topic = 'task-events'")
        #expect(try published.first?.require(Int.self, "n") == 5)
    }
}
