import Foundation
import OutboxdCore
import OutboxdOutbox
import OutboxdPostgres

/// Fires due reminders: in one transaction, claims scheduled reminders whose time has come
/// (`FOR UPDATE SKIP LOCKED`, so schedulers in several processes never fire one twice), marks them
/// fired and writes a `task.reminder_due` event through the outbox, which the relay publishes like
/// any other. A reminder fires only while its task exists, is not done and still has that due
/// time; otherwise it is cancelled (the consumer schedules it again when it applies the change). Run by a
/// `PeriodicWorker`.
public struct ReminderScheduler: PeriodicJob {
    public let name = "reminders"
    private let topic: String
    private let afterCommit: @Sendable () -> Void
    private let logger = Logger(label: "reminders")

    /// `afterCommit` runs after a commit that wrote events (the relay's wake-up).
    public init(topic: String, afterCommit: @escaping @Sendable () -> Void = {}) {
        self.topic = topic
        self.afterCommit = afterCommit
    }

    public func runOnce(on connection: PQConnection) throws -> Bool {
        try fireDue(on: connection) == Self.batch
    }

    static let batch = 100

    /// One transaction: cancel reminders of tasks gone or done, fire those due. Returns how many fired.
    public func fireDue(on connection: PQConnection) throws -> Int {
        let fired = try connection.transaction {
            try connection.query(Self.cancelStale, [Self.batch])
            return try connection.query(Self.fire, [topic, Self.batch]).count
        }
        if fired > 0 {
            afterCommit()
            logger.info("reminders fired", ["count": "\(fired)"])
        }
        return fired
    }

    /// Also a reminder whose task's `due_at` is no longer its own: a change the consumer has not
    /// applied yet schedules it again when it does, and a change no event announces (another
    /// writer's SQL, e.g. `infinity`) would otherwise keep it scheduled and due for ever.
    /// The reminders are chosen once (`ARRAY(…)`, and `fire`'s `MATERIALIZED`): as a join, stale
    /// statistics can make the choice run again for each row (`OutboxStore.claim`).
    static let cancelStale = PostgresStatement(name: "reminders_cancel_stale", sql: """
        UPDATE reminders r SET status = 'cancelled'
        WHERE r.task_id = ANY (ARRAY(
            SELECT r2.task_id FROM reminders r2 LEFT JOIN tasks t ON t.id = r2.task_id
            WHERE r2.status = 'scheduled' AND r2.remind_at <= now()
              AND (t.id IS NULL OR t.status = 'done' OR t.due_at IS DISTINCT FROM r2.due_at)
            LIMIT $1 FOR UPDATE OF r2 SKIP LOCKED))
        """)

    static let fire = PostgresStatement(name: "reminders_fire", sql: """
        WITH due AS MATERIALIZED (
            SELECT r.task_id FROM reminders r JOIN tasks t ON t.id = r.task_id
            WHERE r.status = 'scheduled' AND r.remind_at <= now() AND t.status <> 'done' AND t.due_at = r.due_at
            ORDER BY r.remind_at
            LIMIT $2
            FOR UPDATE OF r SKIP LOCKED
        ), fired AS (
            UPDATE reminders r SET status = 'fired', fired_at = now(), event_id = gen_random_uuid()
            FROM due WHERE r.task_id = due.task_id
            RETURNING r.task_id, r.event_id, r.due_at
        ), new_events AS (
            SELECT f.event_id, 'task' AS aggregate_type, f.task_id::text AS aggregate_id, 'task.reminder_due' AS event_type,
                   $1::text AS topic, outboxd_task_event(t, f.event_id, 'task.reminder_due', now()) AS payload,
                   '{}'::jsonb AS headers, 1 AS position
            FROM fired f JOIN tasks t ON t.id = f.task_id
        ), o AS (
            \(OutboxWriter.insertNewEvents)
        )
        SELECT task_id, event_id FROM fired
        """)
}
