import OutboxdPostgres

extension OutboxStore {
    /// What `storeUndelivered` did with one event.
    enum UndeliveredDisposition: Equatable {
        /// Written as a row: with one failed attempt, or (held) as a plain pending row.
        case row
        /// Already a row: the same message read again after a restart; left as it is.
        case existing
        /// Refused as a row (a column the outbox's checks refuse, an event id another event holds),
        /// or not an event: written as a parked row holding the message's content and why.
        case unreadable
    }

    /// Writes `events` as outbox rows, a failed one with its attempt (parked at `maxAttempts`, or
    /// at once with `park`), in one transaction on a plain session, whose triggers queue them: the relay
    /// retries them like any row that failed. Each event is written under a savepoint: one the
    /// outbox refuses becomes a parked row of type `UndeliveredEvent.unreadableType` with its
    /// content, so one bad message never blocks the others or the slot.
    func storeUndelivered(_ events: [UndeliveredEvent], maxAttempts: Int) throws -> [UndeliveredDisposition] {
        var result: [UndeliveredDisposition] = []
        guard !events.isEmpty else { return result }
        try connection.transaction {
            var ids: [Int64] = []
            var written: [UndeliveredEvent] = []
            for event in events {
                if let message = event.message {
                    try connection.executeScript("SAVEPOINT undelivered")
                    do {
                        let id = try connection.query(Self.insertUndelivered, Self.parameters(message)).first?.require(Int64.self, "id")
                        try connection.executeScript("RELEASE SAVEPOINT undelivered")
                        if let id {
                            if event.failed {
                                ids.append(id)
                                written.append(event)
                            }
                            result.append(.row)
                            continue
                        }
                    } catch let error as PostgresError where error.kind == .server {
                        try connection.executeScript("ROLLBACK TO SAVEPOINT undelivered")
                        if error.code == .uniqueViolation,
                           try connection.query(Self.sameEvent, [message.eventID, message.key, message.eventType]).first != nil {
                            result.append(.existing)
                            continue
                        }
                        var unreadable = event
                        unreadable.message = nil
                        unreadable.park = true
                        unreadable.failed = true
                        unreadable.error = "the relay could not store this emitted event as an outbox row (\(error.message)); \(event.failed ? "it failed" : "it was"): \(event.error)"
                        try write(unreadable, into: &ids, &written)
                        result.append(.unreadable)
                        continue
                    }
                }
                try write(event, into: &ids, &written)
                result.append(.unreadable)
            }
            guard !ids.isEmpty else { return }
            _ = try connection.query(Self.markFailed, [ids, written.map(\.error), written.map(\.delayMilliseconds), maxAttempts, written.map(\.park)])
        }
        return result
    }

    /// Writes the row of content that is not an event (it cannot fail the outbox's checks).
    private func write(_ event: UndeliveredEvent, into ids: inout [Int64], _ written: inout [UndeliveredEvent]) throws {
        let id = try connection.query(Self.insertUndelivered, [
            nil, "", "\(event.lsn)", UndeliveredEvent.unreadableType, nil, "{}", UndeliveredEvent.unreadableType,
            PostgresBytes(event.content), nil, nil, nil,
        ]).first?.require(Int64.self, "id")
        guard let id else { throw PostgresError(kind: .decoding, message: "no id for the row of an unreadable message") }
        ids.append(id)
        written.append(event)
    }

    private static func parameters(_ message: OutboxEventMessage) -> [(any PostgresParameter)?] {
        [message.eventID, message.topic, message.key, message.eventType, message.payload, message.headers, message.aggregateType,
         message.payloadBytes.map(PostgresBytes.init), message.contentType, message.messageKey, message.messagePartition]
    }

    static let insertUndelivered = PostgresStatement(name: "outbox_insert_undelivered", sql: """
        INSERT INTO outbox (event_id, topic, aggregate_id, event_type, payload, headers, aggregate_type, payload_bytes,
                            content_type, message_key, message_partition)
        VALUES (coalesce($1::uuid, gen_random_uuid()), $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8::bytea, $9, $10, $11::int)
        RETURNING id
        """)

    /// A row of the event already: the same id, key and type (the message read again after a restart).
    static let sameEvent = PostgresStatement(name: "outbox_same_event", sql: """
        SELECT 1 FROM outbox WHERE event_id = $1::uuid AND aggregate_id = $2 AND event_type = $3
        """)
}
