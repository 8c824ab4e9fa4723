import OutboxdCore
import OutboxdPostgres

/// Keeps one reminder per task with a `due_at`, at `due_at - lead`: created and updated tasks
/// (re)schedule it, a removed `due_at`, `task.completed` and `task.deleted` cancel it. The
/// `ReminderScheduler` fires it.
public struct ReminderHandler: EventHandler {
    public let name = "reminders"
    public let lead: Duration

    public init(lead: Duration) { self.lead = lead }

    public func apply(_ event: TaskEvent, on connection: PQConnection) throws {
        switch event.type {
        case "task.created", "task.updated":
            if let dueAt = event.dueAt, event.task["status"]?.stringValue != "done" {
                try connection.query(Self.schedule, [event.taskID, dueAt, lead.wholeMilliseconds, event.eventID])
            } else {
                try connection.query(Self.cancel, [event.taskID, event.eventID])
            }
        case "task.completed", "task.deleted":
            try connection.query(Self.cancel, [event.taskID, event.eventID])
        default:
            return
        }
    }

    /// A changed due time schedules again (also after a fired reminder); the same one keeps the state.
    static let schedule = PostgresStatement(name: "reminder_schedule", sql: """
        INSERT INTO reminders (task_id, due_at, remind_at, updated_by)
        VALUES ($1, $2::timestamptz, $2::timestamptz - $3::bigint * interval '1 millisecond', $4)
        ON CONFLICT (task_id) DO UPDATE
        SET due_at = EXCLUDED.due_at, remind_at = EXCLUDED.remind_at, updated_by = EXCLUDED.updated_by,
            status = CASE WHEN reminders.due_at = EXCLUDED.due_at AND reminders.status <> 'cancelled'
                          THEN reminders.status ELSE 'scheduled' END
        """)

    static let cancel = PostgresStatement(name: "reminder_cancel", sql: """
        UPDATE reminders SET status = 'cancelled', updated_by = $2 WHERE task_id = $1 AND status = 'scheduled'
        """)
}
