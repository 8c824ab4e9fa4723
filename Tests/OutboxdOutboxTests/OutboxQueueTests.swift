import Foundation
import Synchronization
import OutboxdCore
import OutboxdPostgres
import OutboxdTestSupport
import Testing
@testable import OutboxdOutbox

/// `outbox_queue` (migration 0014): one row per unpublished outbox row, whoever writes the outbox,
/// and the relay's claim deleting what it takes while its record puts back what it did not deliver.
@Suite struct OutboxQueueTests {
    /// The queue as (outbox row's aggregate_id, backing off, parked), in id order.
    func queue(_ connection: PQConnection) throws -> [String] {
        try connection.query("""
            SELECT coalesce(o.aggregate_id, 'gone') || ' ' || (q.next_attempt_at IS NOT NULL)::text || ' ' || (q.parked_at IS NOT NULL)::text AS entry
            FROM outbox_queue q LEFT JOIN outbox o ON o.id = q.id ORDER BY q.id
            """).map { try $0.require(String.self, "entry") }
    }

    /// Migration 0014 on an outbox written under 0013, while a writer keeps inserting: every row
    /// not published is queued in its state, the published history is not, no write is lost,
    /// and marking is HOT (no index of the outbox mentions a relay column).
    @Test func theMigrationQueuesTheUnpublishedRowsOfALiveOutbox() throws {
        let database = try TestDatabase.createEmpty()
        defer { database.drop() }
        let connection = try database.connect()
        defer { connection.close() }
        let all = try Migrator(directory: TestEnvironment.migrationsDirectory).migrations
        try Migrator(migrations: all.filter { $0.version < 14 }).migrate(on: connection)
        try connection.executeScript("""
            SET session_replication_role = replica;
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload, published_at, kafka_partition, kafka_offset)
            SELECT 'task', 'published-' || n, 'task.created', 'task-events', '{}', now(), 0, n FROM generate_series(1, 5000) n;
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload) VALUES ('task', 'due', 'task.created', 'task-events', '{}');
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload, attempts, next_attempt_at)
            VALUES ('task', 'backing-off', 'task.created', 'task-events', '{}', 1, now() + interval '1 hour');
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload, attempts, parked_at)
            VALUES ('task', 'parked', 'task.created', 'task-events', '{}', 10, now());
            RESET session_replication_role
            """)
        let writer = try database.connect()
        defer { writer.close() }
        let stop = Mutex(false)
        let written = Mutex(0)
        let thread = Thread {
            while !stop.withLock({ $0 }) {
                guard (try? writer.query("SELECT outbox_emit('task-events', 'live', 'task.created', '{}')")) != nil else { return }
                written.withLock { $0 += 1 }
            }
        }
        thread.start()
        try waitUntil("the writer writes") { written.withLock { $0 } > 10 }
        let migrator = try database.connect()
        defer { migrator.close() }
        try Migrator(migrations: all).migrate(on: migrator)
        let before = written.withLock { $0 }
        try waitUntil("the writer writes after the migration") { written.withLock { $0 } > before + 10 }
        stop.withLock { $0 = true }
        try waitUntil("the writer stops") { thread.isFinished }

        let entries = try queue(connection)
        #expect(entries.prefix(3) == ["due false false", "backing-off true false", "parked false true"])
        #expect(entries.dropFirst(3).allSatisfy { $0 == "live false false" })
        #expect(try database.count("outbox", where: "aggregate_id = 'live'") == written.withLock { $0 })
        #expect(try database.count("outbox", where: "published_at IS NULL") == entries.count)
        let indexed = try connection.query("""
            SELECT string_agg(DISTINCT a.attname, ',' ORDER BY a.attname) AS columns
            FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid
            WHERE i.indrelid = 'outbox'::regclass
              AND (a.attnum = ANY(i.indkey) OR pg_get_expr(i.indpred, i.indrelid) LIKE '%' || a.attname || '%')
            """).first?.require(String.self, "columns")
        #expect(indexed == "aggregate_id,event_id,id")
        #expect(try connection.query("SELECT reloptions::text AS o FROM pg_class WHERE relname = 'outbox'").first?
            .require(String.self, "o").contains("fillfactor=50") == true)
        // Rows written since are marked by HOT updates (here by hand, in a session that is no relay's),
        // marked as the relay does, a batch at once.
        func updates() throws -> (hot: Int, all: Int) {
            try connection.executeScript("SELECT pg_stat_force_next_flush()")
            let row = try connection.query("SELECT n_tup_hot_upd::int AS hot, n_tup_upd::int AS n FROM pg_stat_user_tables WHERE relname = 'outbox'").first!
            return (try row.require(Int.self, "hot"), try row.require(Int.self, "n"))
        }
        let start = try updates()
        try connection.executeScript("""
            SELECT outbox_emit('task-events', 'hot-' || n, 'task.created', jsonb_build_object('n', n)) FROM generate_series(1, 300) n;
            UPDATE outbox SET published_at = now(), kafka_partition = 0, kafka_offset = id WHERE aggregate_id LIKE 'hot-%'
            """)
        let end = try updates()
        #expect(end.all - start.all == 300)
        // Not all: a marked version is 20 bytes longer (partition, offset, time) and the old ones
        // are not dead yet while the statement runs, so half a page holds the marks of ~90% of
        // its rows when they are this small. At fillfactor 100 none is HOT.
        #expect(end.hot - start.hot >= 240, "\(end.hot - start.hot) of 300 HOT")
    }

    /// Whoever writes the outbox keeps the queue right: writers (also with replica triggers),
    /// an operator's mark, retry, replay and delete, and a TRUNCATE; a relay session is left alone.
    @Test func everyWriterKeepsTheQueueRight() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        defer { connection.close() }
        try connection.executeScript("""
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload) VALUES ('task', 'a', 'task.created', 'task-events', '{}');
            SET session_replication_role = replica;
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload) VALUES ('task', 'b', 'task.created', 'task-events', '{}');
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload, published_at) VALUES ('task', 'history', 'task.created', 'task-events', '{}', now());
            RESET session_replication_role;
            SELECT outbox_emit('task-events', 'c', 'task.created', '{}');
            """)
        #expect(try queue(connection) == ["a false false", "b false false", "c false false"])
        try connection.executeScript("""
            UPDATE outbox SET attempts = 10, parked_at = now(), last_error = 'x' WHERE aggregate_id = 'a';
            UPDATE outbox SET attempts = 1, next_attempt_at = now() + interval '1 hour' WHERE aggregate_id = 'b';
            UPDATE outbox SET published_at = now(), kafka_partition = 0, kafka_offset = 7 WHERE aggregate_id = 'c'
            """)
        #expect(try queue(connection) == ["a false true", "b true false"])
        let counted = try connection.query("SELECT sum(events)::int AS n FROM outbox_published_counts").first?.decode(Int.self, "n")
        #expect(counted == 1)
        let parkedID = try #require(try connection.query("SELECT event_id FROM outbox WHERE aggregate_id = 'a'").first?.require(UUID.self, "event_id"))
        #expect(try OutboxRepair.retry([parkedID], on: connection) == 1)
        #expect(try queue(connection) == ["a false false", "b true false"])
        #expect(try OutboxRepair.replay(from: Timestamp(microsecondsSinceEpoch: 0), to: Timestamp(microsecondsSinceEpoch: Int64(4e15)), on: connection) == 2)
        #expect(try queue(connection) == ["a false false", "b true false", "history false false", "c false false"])
        try connection.executeScript("DELETE FROM outbox WHERE aggregate_id = 'b'")
        #expect(try queue(connection) == ["a false false", "history false false", "c false false"])
        // A relay session keeps the queue itself: its marks and deletes leave it as it is.
        try connection.executeScript("""
            BEGIN; SET LOCAL outboxd.relay_session = on;
            UPDATE outbox SET published_at = now(), kafka_partition = 0, kafka_offset = 8 WHERE aggregate_id = 'a';
            DELETE FROM outbox WHERE aggregate_id = 'history';
            COMMIT
            """)
        #expect(try queue(connection).count == 3)
        try connection.executeScript("TRUNCATE outbox")
        #expect(try database.count("outbox_queue") == 0)
        // An owner's load with the triggers disabled is queued by outbox_requeue_unqueued.
        try connection.executeScript("""
            ALTER TABLE outbox DISABLE TRIGGER outbox_queue_inserted;
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload) VALUES ('task', 'd', 'task.created', 'task-events', '{}');
            ALTER TABLE outbox ENABLE ALWAYS TRIGGER outbox_queue_inserted
            """)
        #expect(try database.count("outbox_queue") == 0)
        #expect(try connection.query("SELECT outbox_requeue_unqueued() AS n").first?.require(Int.self, "n") == 1)
        #expect(try queue(connection) == ["d false false"])
    }

    /// The claim deletes the queue rows it takes; the record puts back every claimed row it did
    /// not deliver, as the failure left it; a rollback puts back all.
    @Test func theRecordPutsBackWhatItDidNotDeliver() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        defer { connection.close() }
        try connection.executeScript(Relay.laneSettings)
        try connection.executeScript("""
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload)
            SELECT 'task', k, 'task.created', 'task-events', '{}' FROM unnest(ARRAY['delivered', 'retried', 'parked', 'held']) k
            """)
        let store = OutboxStore(connection: connection)
        func claim() throws -> [OutboxRow] {
            try store.finishClaim(try store.startClaim(limit: 10, bytes: 1 << 20, shards: 1, owned: [0]), format: RecordFormat(), bytes: 1 << 20)
        }
        #expect(try claim().map(\.aggregateID) == ["delivered", "retried", "parked", "held"])
        #expect(try database.count("outbox_queue") == 4, "another session sees the claim's delete only once committed")
        try connection.executeScript("ROLLBACK")
        let rows = try claim()
        #expect(rows.count == 4)
        let id = Dictionary(uniqueKeysWithValues: rows.map { ($0.aggregateID, $0.id) })
        try store.finishRecord(try store.startRecord(
            claimed: rows.map(\.id),
            delivered: [DeliveredRow(id: id["delivered"]!, eventIDText: rows[0].eventIDText, partition: 0, offset: 1, reportedAt: .now())],
            keep: true,
            failed: [(id["retried"]!, "timed out", 60_000, false), (id["parked"]!, "too large", 0, true)],
            maxAttempts: 10, publishedPerTopic: ["task-events": 1]))
        let requeued = try queue(connection)
        #expect(requeued == ["retried true false", "parked true true", "held false false"])
        #expect(try database.count("outbox", where: "published_at IS NOT NULL") == 1)
        #expect(try claim().map(\.aggregateID) == ["held"], "the retried row backs off, the parked one waits for an operator")
        try connection.executeScript("ROLLBACK")
    }
}
