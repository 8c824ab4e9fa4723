import OutboxdCore

/// A notification to deliver.
public struct Notification: Sendable {
    public let id: Int64
    public let taskID: String
    public let recipient: String
    public let message: String

    public init(id: Int64, taskID: String, recipient: String, message: String) {
        self.id = id
        self.taskID = taskID
        self.recipient = recipient
        self.message = message
    }
}

/// Where notifications go. `send` throws when the delivery failed and should be retried.
public protocol NotificationSink: Sendable {
    func send(_ notification: Notification) throws
}

/// The default sink: one log line per notification, without its message (which quotes the task's
/// title: payloads are never logged); the message stays in the `notifications` row.
public struct LogNotificationSink: NotificationSink {
    private let logger = Logger(label: "notifications")

    public init() {}

    public func send(_ notification: Notification) throws {
        logger.notice("notification", ["id": "\(notification.id)", "task_id": notification.taskID,
                                       "recipient": notification.recipient, "message_bytes": "\(notification.message.utf8.count)"])
    }
}
