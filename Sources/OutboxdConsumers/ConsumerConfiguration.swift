/// Settings of the consumers (audit log, notifications, reminders).
public struct ConsumerConfiguration: Sendable {
    /// Consumers `serve` runs beside the API and relay (`outboxd consume` runs them alone):
    /// `audit`, `notifications`, `reminders`, or `none`. Config key `CONSUMERS`; default all three.
    public var enabled: [String] = ["audit", "notifications", "reminders"]
    /// Attempts of a failing handler before the event goes to `<topic>.dlq`. Config key
    /// `CONSUMER_MAX_ATTEMPTS`; default 5.
    public var maxAttempts = 5
    /// First wait before a handler retries (doubling, at most 5 s). Config key
    /// `CONSUMER_RETRY_BACKOFF`; default 200 ms.
    public var retryBackoff: Duration = .milliseconds(200)
    /// How long a partition with records to process may go without one processed before the
    /// consumer shows as stalled (`/readyz` 503, `outboxd_consumer_stalled_partitions`). Config key
    /// `CONSUMER_STALL_TIMEOUT`; default 30 s.
    public var stallTimeout: Duration = .seconds(30)
    /// Prefix of the Kafka consumer groups (`<prefix><consumer>`). Config key
    /// `CONSUMER_GROUP_PREFIX`; default `outboxd-`.
    public var groupPrefix = "outboxd-"
    /// How long before `due_at` a reminder fires. Config key `REMINDER_LEAD`; default 15 min.
    public var reminderLead: Duration = .seconds(900)
    /// Recipient of every notification. Config key `NOTIFICATION_RECIPIENT`; default `tasks@localhost`.
    public var notificationRecipient = "tasks@localhost"
    /// `http://host:port/path` to POST each notification to; empty logs them instead. Config key
    /// `NOTIFICATION_WEBHOOK_URL`; default empty.
    public var notificationWebhook: String = ""

    public static let all = ["audit", "notifications", "reminders"]

    public init() {}
}
