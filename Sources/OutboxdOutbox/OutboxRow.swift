import Foundation
import OutboxdCore
import OutboxdKafka
import OutboxdPostgres

/// A claimed outbox row, ready to produce.
public struct OutboxRow: Sendable {
    public let id: Int64
    public let eventID: UUID
    public let aggregateID: String
    public let eventType: String
    public let topic: String
    public let payload: String
    /// The stored headers sent after the relay's own (`StoredHeaders`).
    public let headers: [(name: String, value: String)]
    /// What of the stored headers is not sent, and why.
    let droppedHeaders: StoredHeaders
    public let createdAt: Timestamp
    public let attempts: Int

    init(id: Int64, eventID: UUID, aggregateID: String, eventType: String = "task.created", topic: String = "task-events",
         payload: String = "{}", headers: [(name: String, value: String)] = [], createdAt: Timestamp = .now(), attempts: Int = 0) {
        self.id = id
        self.eventID = eventID
        self.aggregateID = aggregateID
        self.eventType = eventType
        self.topic = topic
        self.payload = payload
        self.headers = headers
        self.droppedHeaders = StoredHeaders()
        self.createdAt = createdAt
        self.attempts = attempts
    }

    /// The claim's column positions, looked up by name once per result rather than per field.
    struct Columns {
        let id, eventID, aggregateID, eventType, topic, payload, headers, createdAt, attempts: Int

        init(_ names: [String]) throws {
            func index(_ name: String) throws -> Int {
                guard let index = names.firstIndex(of: name) else {
                    throw PostgresError(kind: .decoding, message: "no column \"\(name)\" in the result")
                }
                return index
            }
            (id, eventID, aggregateID, eventType) = (try index("id"), try index("event_id"), try index("aggregate_id"), try index("event_type"))
            (topic, payload, headers, createdAt, attempts) = (try index("topic"), try index("payload"), try index("headers"),
                                                             try index("created_at"), try index("attempts"))
        }
    }

    /// The claimed rows of a result.
    static func rows(of result: PostgresRows) throws -> [OutboxRow] {
        let columns = try Columns(result.columns)
        return try result.map { try OutboxRow(row: $0, columns: columns) }
    }

    init(row: PostgresRow, columns: Columns) throws {
        id = try row.require(Int64.self, at: columns.id)
        eventID = try row.require(UUID.self, at: columns.eventID)
        aggregateID = try row.require(String.self, at: columns.aggregateID)
        eventType = try row.require(String.self, at: columns.eventType)
        topic = try row.require(String.self, at: columns.topic)
        payload = try row.require(String.self, at: columns.payload)
        createdAt = try row.require(Timestamp.self, at: columns.createdAt)
        attempts = try row.require(Int.self, at: columns.attempts)
        var stored = StoredHeaders(jsonText: try row.require(String.self, at: columns.headers))
        headers = stored.valid
        stored.valid = []
        droppedHeaders = stored
    }

    /// One log line for a row with stored headers not sent: its id and their names, never values.
    func logDroppedHeaders(_ logger: Logger) {
        guard !droppedHeaders.isClean else { return }
        var fields: [(key: String, value: String)] = [("outbox_id", "\(id)")]
        if droppedHeaders.notAnObject { fields.append(("headers", "not a JSON object; none sent")) }
        if !droppedHeaders.invalid.isEmpty { fields.append(("not_strings", StoredHeaders.logList(droppedHeaders.invalid))) }
        if !droppedHeaders.shadowing.isEmpty { fields.append(("relay_owned", StoredHeaders.logList(droppedHeaders.shadowing))) }
        logger.log(.warning, "stored headers not sent (values must be strings; the relay's own headers win)", fields: fields)
    }

    /// The Kafka message: key = aggregate id, value = payload, CloudEvents binary-mode headers,
    /// then the row's stored headers (none named like those: `StoredHeaders.relayOwned`).
    func message(source: String) -> KafkaMessage {
        var headers: [(name: String, value: [UInt8])] = [
            ("ce_id", Array(eventID.lowercaseString.utf8)),
            ("ce_type", Array(eventType.utf8)),
            ("ce_source", Array(source.utf8)),
            ("ce_time", Array(createdAt.rfc3339.utf8)),
            ("ce_specversion", Array("1.0".utf8)),
            ("content-type", Array("application/json".utf8)),
        ]
        headers += self.headers.map { ($0.name, Array($0.value.utf8)) }
        return KafkaMessage(topic: topic, key: Array(aggregateID.utf8), value: Array(payload.utf8), headers: headers)
    }
}
