import Foundation
import OutboxdCore
@testable import OutboxdKafka

/// A task event as the relay publishes it (CloudEvents headers, the outbox payload), made up by a
/// test: as a message to produce, or as the record a consumer would read.
struct SyntheticEvent {
    var eventID = UUID()
    var type: String
    var taskID: UUID
    var status = "todo"
    var dueAt: Timestamp?
    /// JSON string content, escapes included (e.g. `\u0000`).
    var title = "synthetic"
    /// nil: now.
    var occurredAt: Timestamp?
    var extraHeaders: [(name: String, value: [UInt8])] = []

    init(_ type: String, task taskID: UUID, status: String = "todo", dueAt: Timestamp? = nil, headers: [(String, String)] = []) {
        self.type = type
        self.taskID = taskID
        self.status = status
        self.dueAt = dueAt
        extraHeaders = headers.map { (name: $0.0, value: Array($0.1.utf8)) }
    }

    var payload: String {
        let now = Timestamp.now().rfc3339
        let due = dueAt.map { "\"\($0.rfc3339)\"" } ?? "null"
        let occurred = occurredAt?.rfc3339 ?? now
        return #"{"event_id":"\#(eventID.lowercaseString)","event_type":"\#(type)","occurred_at":"\#(occurred)","task":{"id":"\#(taskID.lowercaseString)","title":"\#(title)","description":null,"status":"\#(status)","due_at":\#(due),"created_at":"\#(now)","updated_at":"\#(now)","version":1}}"#
    }

    var headers: [(name: String, value: [UInt8])] {
        [(name: "ce_id", value: Array(eventID.lowercaseString.utf8)), (name: "ce_type", value: Array(type.utf8))] + extraHeaders
    }

    func message(topic: String, partition: Int32? = nil) -> KafkaMessage {
        KafkaMessage(topic: topic, key: Array(taskID.lowercaseString.utf8), value: Array(payload.utf8), headers: headers, partition: partition)
    }

    func record(topic: String, offset: Int64 = 0) -> KafkaRecord {
        KafkaRecord(topic: topic, partition: 0, offset: offset, key: Array(taskID.lowercaseString.utf8), value: Array(payload.utf8), headers: headers)
    }
}
