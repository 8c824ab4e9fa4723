import Foundation
import OutboxdCore
import OutboxdPostgres

/// Delivers pending `notifications` rows through a sink: claims a few due rows
/// (`FOR UPDATE SKIP LOCKED`), sends each, and marks it sent, or retries it later with a backoff
/// until `maxAttempts`, after which it is marked failed. Run by a `PeriodicWorker`.
public struct NotificationSender: PeriodicJob {
    public let name = "notifications"
    private let sink: any NotificationSink
    private let maxAttempts: Int
    private let logger = Logger(label: "notifications")

    public init(sink: any NotificationSink, maxAttempts: Int = 5) {
        self.sink = sink
        self.maxAttempts = maxAttempts
    }

    public func runOnce(on connection: PQConnection) throws -> Bool {
        try sendDue(on: connection) == Self.batch
    }

    static let batch = 20

    /// Sends what is due; returns how many rows were claimed.
    public func sendDue(on connection: PQConnection) throws -> Int {
        try connection.transaction {
            let rows = try connection.query(Self.claim, [Self.batch])
            for row in rows {
                let notification = Notification(id: try row.require(Int64.self, "id"), taskID: try row.require(String.self, "task_id"),
                                                recipient: try row.require(String.self, "recipient"), message: try row.require(String.self, "message"))
                do {
                    try sink.send(notification)
                    try connection.query(Self.markSent, [notification.id])
                } catch let error as PostgresError {
                    throw error
                } catch {
                    let attempts = try row.require(Int.self, "attempts") + 1
                    try connection.query(Self.markFailed, [notification.id, "\(error)", maxAttempts])
                    logger.warning(attempts >= maxAttempts ? "notification failed for good" : "notification not sent; will retry",
                                   ["id": "\(notification.id)", "attempts": "\(attempts)", "error": "\(error)"])
                }
            }
            return rows.count
        }
    }

    static let claim = PostgresStatement(name: "notifications_claim", sql: """
        SELECT id, task_id::text AS task_id, recipient, message, attempts FROM notifications
        WHERE status = 'pending' AND next_attempt_at <= now()
        ORDER BY next_attempt_at, id LIMIT $1
        FOR UPDATE SKIP LOCKED
        """)

    static let markSent = PostgresStatement(name: "notifications_sent", sql: """
        UPDATE notifications SET status = 'sent', sent_at = now(), attempts = attempts + 1 WHERE id = $1
        """)

    static let markFailed = PostgresStatement(name: "notifications_failed", sql: """
        UPDATE notifications
        SET attempts = attempts + 1, last_error = $2,
            status = CASE WHEN attempts + 1 >= $3::int THEN 'failed' ELSE 'pending' END,
            next_attempt_at = now() + least(power(2, attempts) * interval '1 second', interval '5 minutes')
        WHERE id = $1
        """)
}
