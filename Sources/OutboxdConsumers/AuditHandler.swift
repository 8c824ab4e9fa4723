import OutboxdPostgres

/// Every task event → one `audit_log` row (what `GET /tasks/{id}/history` returns).
public struct AuditHandler: EventHandler {
    public let name = "audit"

    public init() {}

    public func apply(_ event: TaskEvent, on connection: PQConnection) throws {
        try connection.query(Self.insert, [event.eventID, event.type, event.taskID, event.payloadText, event.occurredAt])
    }

    static let insert = PostgresStatement(name: "audit_insert", sql: """
        INSERT INTO audit_log (event_id, event_type, task_id, payload, occurred_at)
        VALUES ($1, $2, $3, $4::jsonb, $5::timestamptz)
        ON CONFLICT (event_id) DO NOTHING
        """)
}
