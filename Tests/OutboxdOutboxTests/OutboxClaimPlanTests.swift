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
}
