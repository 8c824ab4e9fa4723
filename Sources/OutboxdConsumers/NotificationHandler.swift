import OutboxdPostgres

/// `task.created` and `task.completed` → a pending `notifications` row, which the
/// `NotificationSender` delivers through its sink.
public struct NotificationHandler: EventHandler {
    public let name = "notifications"
    /// Tasks carry no recipient of their own; this one gets every notification.
    public let recipient: String

    public init(recipient: String) { self.recipient = recipient }

    public func apply(_ event: TaskEvent, on connection: PQConnection) throws {
        let title = event.task["title"]?.stringValue ?? ""
        let message: String
        switch event.type {
        case "task.created": message = "Task created: \(title)"
        case "task.completed": message = "Task completed: \(title)"
        default: return
        }
        try connection.query(Self.insert, [event.eventID, event.taskID, recipient, message])
    }

    static let insert = PostgresStatement(name: "notification_insert", sql: """
        INSERT INTO notifications (event_id, task_id, recipient, message)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (event_id) DO NOTHING
        """)
}
