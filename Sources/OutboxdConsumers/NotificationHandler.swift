import OutboxdPostgres

/// `task.created` and `task.completed` → a pending `notifications` row, which the
/// `NotificationSender` delivers through its sink.
public struct NotificationHandler: EventHandler {
    public let name = "notifications"
    /// Tasks carry no recipient of their own; this one gets every notification.
    public let recipient: String

    public init(recipient: String) { self.recipient = recipient }

    public func statements(applying events: [TaskEvent]) throws -> [PipelinedStatement] {
        let notified = events.compactMap { event in message(for: event).map { (event, $0) } }
        guard !notified.isEmpty else { return [] }
        return [.prepared(Self.insert, [notified.map(\.0.eventID), notified.map(\.0.taskID), recipient, notified.map(\.1)])]
    }

    private func message(for event: TaskEvent) -> String? {
        let title = event.task["title"]?.stringValue ?? ""
        switch event.type {
        case "task.created": return "Task created: \(title)"
        case "task.completed": return "Task completed: \(title)"
        default: return nil
        }
    }

    /// One row per notified event, in the order read.
    static let insert = PostgresStatement(name: "notification_insert_batch", sql: """
        INSERT INTO notifications (event_id, task_id, recipient, message)
        SELECT event_id, task_id, $3, message
        FROM unnest($1::uuid[], $2::uuid[], $4::text[]) WITH ORDINALITY AS e(event_id, task_id, message, n)
        ORDER BY n
        ON CONFLICT (event_id) DO NOTHING
        """)
}
