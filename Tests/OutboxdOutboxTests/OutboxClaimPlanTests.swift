import Foundation
import OutboxdPostgres
import OutboxdTestSupport
import Testing
@testable import OutboxdOutbox

/// The claim's plan in a relay lane's session, read from PostgreSQL's EXPLAIN: it must read the
/// queued rows in id order and, for "an earlier row of this key is backing off", only the rows
/// backing off, whatever the statistics say. The trap seen in bench/latency.sh: statistics taken while nothing was pending,
/// then a backlog; the check then read every pending row for each claimed row.
@Suite struct OutboxClaimPlanTests {
    @Test(arguments: ["force_generic_plan", "force_custom_plan"])
    func backingOffCheckReadsOnlyTheRowsBackingOff(planCacheMode: String) throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        try connection.executeScript("""
            -- History as the relay would have left it: its columns are refused from writers (migration 0011)
            SET session_replication_role = replica;
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload, published_at)
            SELECT 'task', gen_random_uuid()::text, 'task.created', 'task-events', '{}', now() FROM generate_series(1, 20000);
            ANALYZE outbox, outbox_queue;
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload)
            SELECT 'task', gen_random_uuid()::text, 'task.created', 'task-events', '{}' FROM generate_series(1, 20000);
            RESET session_replication_role
            """)
        try connection.executeScript(Relay.laneSettings)
        try connection.query("SELECT set_config('plan_cache_mode', $1, false)", [planCacheMode])
        try connection.executeScript("PREPARE claim_plan(int, int, int[], bigint) AS " + OutboxStore.claim.sql)
        try connection.begin()
        defer { connection.rollbackIfPossible() }
        let plan = try connection.query("EXPLAIN EXECUTE claim_plan(500, 1, '{0}', 16777216)").map { try $0.require(String.self, "QUERY PLAN") }
        let text = plan.joined(separator: "\n")
        #expect(!text.contains("Seq Scan"), "\(text)")
        #expect(plan.contains { $0.contains("using outbox_queue_ready_idx on outbox_queue q") }, "\(text)")
        #expect(plan.contains { $0.contains("using outbox_queue_backoff_idx on outbox_queue e") }, "\(text)")
    }

    /// Seen in bench/latency.sh at 2000 tasks/s: autovacuum analyzed the queue when its pages held
    /// no live row, so the planner took it for one row and made `id IN (claim's subquery)` a nested
    /// loop over the queue that ran the subquery again for each queued row: a claim of 1,293 rows
    /// (over its limit of 500) read 5.3M buffers in 2.6 s, and one ran into the 10 s statement
    /// timeout. The rows to take are chosen once, then deleted by id.
    @Test(arguments: ["force_generic_plan", "force_custom_plan"])
    func theClaimChoosesItsRowsOnceWhenStatisticsSayTheQueueIsEmpty(planCacheMode: String) throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        try connection.executeScript("""
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload)
            SELECT 'task', gen_random_uuid()::text, 'task.created', 'task-events', '{}' FROM generate_series(1, 20000);
            DELETE FROM outbox_queue;
            ANALYZE outbox, outbox_queue;
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload)
            SELECT 'task', gen_random_uuid()::text, 'task.created', 'task-events', '{}' FROM generate_series(1, 2000)
            """)
        try connection.executeScript(Relay.laneSettings)
        try connection.query("SELECT set_config('plan_cache_mode', $1, false)", [planCacheMode])
        try connection.executeScript("PREPARE claim_plan(int, int, int[], bigint) AS " + OutboxStore.claim.sql)
        try connection.begin()
        defer { connection.rollbackIfPossible() }
        let plan = try connection.query("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) EXECUTE claim_plan(500, 1, '{0}', 16777216)")
            .map { try $0.require(String.self, "QUERY PLAN") }
        let text = plan.joined(separator: "\n")
        let readyScans = plan.filter { $0.contains("using outbox_queue_ready_idx on outbox_queue q") }
        #expect(readyScans.count == 1 && readyScans.allSatisfy { $0.contains("loops=1)") }, "\(text)")
        #expect(plan.first?.contains("(actual rows=500 loops=1)") == true, "\(text)")
        let queued = try connection.query("SELECT count(*)::int AS n FROM outbox_queue").first?.require(Int.self, "n")
        #expect(queued == 1500, "\(text)")
    }
}
