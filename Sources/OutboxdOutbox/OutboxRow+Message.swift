import OutboxdCore

extension OutboxRow {
    /// The event of an `outbox_emit_message` as the row `outbox_emit` would have written with the
    /// same arguments, so its record is byte for byte that row's. It has no id (0) until it becomes
    /// a row (`id` stands in for it meanwhile); messages carry no `fields` (the Debezium view's
    /// added columns).
    init(message: OutboxEventMessage, format: RecordFormat, id: Int64 = 0) throws {
        self.id = id
        problem = nil
        eventIDText = message.eventID
        aggregateType = message.aggregateType
        aggregateID = message.key
        eventType = message.eventType
        topic = message.topic
        isRouted = message.topic.isEmpty
        isTombstone = false
        if let bytes = message.payloadBytes {
            payload = bytes
            payloadIsBytes = true
            contentType = message.contentType ?? "application/octet-stream"
        } else {
            payload = Array((message.payload ?? "").utf8)
            payloadIsBytes = false
            contentType = message.contentType ?? "application/json"
        }
        key = Array((message.messageKey ?? message.key).utf8)
        partition = message.messagePartition
        createdAt = message.createdAt
        attempts = 0
        var stored = StoredHeaders(jsonText: message.headers, relayOwned: format.relayOwnedHeaders)
        headers = stored.valid
        stored.valid = []
        droppedHeaders = stored
        addedFields = [:]
        try route(format)
    }
}
