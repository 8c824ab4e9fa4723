import OutboxdPostgres

/// Every task event → one `audit_log` row (what `GET /tasks/{id}/history` returns).
public struct AuditHandler: EventHandler {
    public let name = "audit"

    public init() {}

    public func statements(applying events: [TaskEvent]) throws -> [PipelinedStatement] {
        guard !events.isEmpty else { return [] }
        return [.prepared(Self.insert, [events.map(\.eventID), events.map(\.type), events.map(\.taskID),
                                        events.map(\.payloadText), events.map(\.occurredAt)])]
    }

    /// One row per event, in the order read.
    static let insert = PostgresStatement(name: "audit_insert_batch", sql: """
        INSERT INTO audit_log (event_id, event_type, task_id, payload, occurred_at)
        SELECT event_id, event_type, task_id, payload, occurred_at
        FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::jsonb[], $5::timestamptz[]) WITH ORDINALITY
             AS e(event_id, event_type, task_id, payload, occurred_at, n)
        ORDER BY n
        ON CONFLICT (event_id) DO NOTHING
        """)
}
