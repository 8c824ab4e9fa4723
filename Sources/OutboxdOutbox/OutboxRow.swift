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
    public let headers: [(name: String, value: String)]
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
        self.createdAt = createdAt
        self.attempts = attempts
    }

    init(row: PostgresRow) throws {
        id = try row.require(Int64.self, "id")
        eventID = try row.require(UUID.self, "event_id")
        aggregateID = try row.require(String.self, "aggregate_id")
        eventType = try row.require(String.self, "event_type")
        topic = try row.require(String.self, "topic")
        payload = try row.require(String.self, "payload")
        createdAt = try row.require(Timestamp.self, "created_at")
        attempts = try row.require(Int.self, "attempts")
        let headerText = try row.require(String.self, "headers")
        let parsed = (try? JSONParser.parse(Array(headerText.utf8)))?.objectValue
        headers = parsed?.members.compactMap { member in member.value.stringValue.map { (member.key, $0) } } ?? []
    }

    /// The Kafka message: key = aggregate id, value = payload, CloudEvents binary-mode headers,
    /// then the row's stored headers.
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
