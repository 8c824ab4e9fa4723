import Foundation
import OutboxdCore
import OutboxdPostgres

/// Keeps one reminder per task with a `due_at`, at `due_at - lead`: created and updated tasks
/// (re)schedule it, a removed `due_at`, `task.completed` and `task.deleted` cancel it. The
/// `ReminderScheduler` fires it.
///
/// A batch ends where its events, applied one after the other, would end: per task, its last
/// scheduling event is upserted (one statement for all tasks), then a cancel that followed it
/// (one statement); see `Plan`.
public struct ReminderHandler: EventHandler {
    public let name = "reminders"
    public let lead: Duration

    public init(lead: Duration) { self.lead = lead }

    public func statements(applying events: [TaskEvent]) throws -> [PipelinedStatement] {
        var plans: [UUID: Plan] = [:]
        var order: [UUID] = []
        for event in events {
            guard let step = Step(event) else { continue }
            if plans[event.taskID] == nil { order.append(event.taskID) }
            plans[event.taskID, default: Plan()].add(step, event.eventID)
        }
        let schedules = order.compactMap { task in plans[task]?.schedule.map { (task: task, schedule: $0) } }
        let cancels = order.compactMap { task in plans[task]?.cancelledBy.map { (task: task, event: $0) } }
        var statements: [PipelinedStatement] = []
        if !schedules.isEmpty {
            statements.append(.prepared(Self.schedule, [
                schedules.map(\.task), schedules.map(\.schedule.dueAt), schedules.map(\.schedule.eventID), lead.wholeMilliseconds,
                schedules.filter(\.schedule.keepsState).map(\.schedule.eventID),
            ]))
        }
        if !cancels.isEmpty {
            statements.append(.prepared(Self.cancel, [cancels.map(\.task), cancels.map(\.event)]))
        }
        return statements
    }

    /// What one event asks of its task's reminder.
    enum Step {
        case schedule(dueAt: Timestamp)
        case cancel

        init?(_ event: TaskEvent) {
            switch event.type {
            case "task.created", "task.updated":
                if let dueAt = event.dueAt, event.task["status"]?.stringValue != "done" { self = .schedule(dueAt: dueAt) } else { self = .cancel }
            case "task.completed", "task.deleted":
                self = .cancel
            default:
                return nil
            }
        }
    }

    /// One task's steps in a batch, folded to at most one upsert and one cancel with the result
    /// of applying them one by one: the last schedule wins, and it keeps a fired reminder's state
    /// only when every schedule of the batch before it had the same due time (one that moved
    /// away and back schedules again); a cancel after it cancels, recorded with the first such
    /// event (a later cancel finds nothing scheduled); cancels before it change nothing it does
    /// not set again.
    struct Plan {
        struct Schedule {
            var dueAt: Timestamp
            var eventID: UUID
            /// The existing row's state may stay (same due time, not cancelled).
            var keepsState: Bool
        }

        var schedule: Schedule?
        var cancelledBy: UUID?

        mutating func add(_ step: Step, _ eventID: UUID) {
            switch step {
            case .schedule(let dueAt):
                schedule = Schedule(dueAt: dueAt, eventID: eventID, keepsState: schedule.map { $0.keepsState && $0.dueAt == dueAt } ?? true)
                cancelledBy = nil
            case .cancel:
                if cancelledBy == nil { cancelledBy = eventID }
            }
        }
    }

    /// A changed due time schedules again (also after a fired reminder); the same one keeps the
    /// state when the event may keep it ($5). One row per task.
    static let schedule = PostgresStatement(name: "reminder_schedule_batch", sql: """
        INSERT INTO reminders (task_id, due_at, remind_at, updated_by)
        SELECT task_id, due_at, due_at - $4::bigint * interval '1 millisecond', event_id
        FROM unnest($1::uuid[], $2::timestamptz[], $3::uuid[]) AS s(task_id, due_at, event_id)
        ON CONFLICT (task_id) DO UPDATE
        SET due_at = EXCLUDED.due_at, remind_at = EXCLUDED.remind_at, updated_by = EXCLUDED.updated_by,
            status = CASE WHEN reminders.due_at = EXCLUDED.due_at AND reminders.status <> 'cancelled'
                               AND EXCLUDED.updated_by = ANY($5::uuid[])
                          THEN reminders.status ELSE 'scheduled' END
        """)

    /// One row per task.
    static let cancel = PostgresStatement(name: "reminder_cancel_batch", sql: """
        UPDATE reminders SET status = 'cancelled', updated_by = c.event_id
        FROM unnest($1::uuid[], $2::uuid[]) AS c(task_id, event_id)
        WHERE reminders.task_id = c.task_id AND reminders.status = 'scheduled'
        """)
}
