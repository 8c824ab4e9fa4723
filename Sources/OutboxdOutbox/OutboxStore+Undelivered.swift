import OutboxdPostgres

/// An event that exists nowhere but in the WAL (`outbox_emit_message`) and could not be delivered:
/// it becomes an outbox row, so nothing is dropped silently.
struct UndeliveredEvent {
    var eventID: String?
    var topic: String
    var aggregateType: String
    var key: String
    var eventType: String
    var payload: String?
    var payloadBytes: [UInt8]?
    var contentType: String?
    var messageKey: String?
    var messagePartition: Int32?
    var headers: String
    /// `last_error`.
    var error: String
    var delayMilliseconds: Int64
    /// Parked at once (a permanent error, or content that is not an event).
    var park: Bool
}

extension OutboxStore {
    /// Writes `events` as outbox rows with one failed attempt (parked at `maxAttempts`, or at once
    /// with `park`), in one transaction on a plain session, whose triggers queue them: the relay
    /// retries them like any row that failed. Returns the event ids that were rows already
    /// (the same message read again after a restart), which are left as they are.
    func storeUndelivered(_ events: [UndeliveredEvent], maxAttempts: Int) throws -> [String] {
        guard !events.isEmpty else { return [] }
        var existing: [String] = []
        try connection.transaction {
            var ids: [Int64] = []
            var stored: [UndeliveredEvent] = []
            for event in events {
                let parameters: [(any PostgresParameter)?] = [
                    event.eventID, event.topic, event.key, event.eventType, event.payload, event.headers, event.aggregateType,
                    event.payloadBytes.map(PostgresBytes.init), event.contentType, event.messageKey, event.messagePartition,
                ]
                let inserted = try connection.query(Self.insertUndelivered, parameters)
                if let id = try inserted.first?.require(Int64.self, "id") {
                    ids.append(id)
                    stored.append(event)
                } else if let eventID = event.eventID {
                    existing.append(eventID)
                }
            }
            _ = try connection.query(Self.markFailed, [ids, stored.map(\.error), stored.map(\.delayMilliseconds), maxAttempts, stored.map(\.park)])
        }
        return existing
    }

    static let insertUndelivered = PostgresStatement(name: "outbox_insert_undelivered", sql: """
        INSERT INTO outbox (event_id, topic, aggregate_id, event_type, payload, headers, aggregate_type, payload_bytes,
                            content_type, message_key, message_partition)
        VALUES (coalesce($1::uuid, gen_random_uuid()), $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8::bytea, $9, $10, $11::int)
        ON CONFLICT (event_id) DO NOTHING
        RETURNING id
        """)
}
