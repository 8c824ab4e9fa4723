import Foundation
import OutboxdCore
@testable import OutboxdConsumers
@testable import OutboxdKafka
import Testing

/// What the built-in consumers read of a record, in both record shapes the relay makes.
@Suite struct TaskEventTests {
    func record(_ event: SyntheticEvent, payload: String? = nil, headers: [(name: String, value: [UInt8])]) -> KafkaRecord {
        KafkaRecord(topic: "task-events", partition: 0, offset: 0, key: Array(event.taskID.lowercaseString.utf8),
                    value: Array((payload ?? event.payload).utf8), headers: headers)
    }

    /// OUTBOX_RECORD_SHAPE=debezium sends the event id as `id` and no `ce_type`: the id comes from
    /// that header and the type from the payload, so the consumers apply the event as in the
    /// CloudEvents shape.
    @Test func theDebeziumShapesIdHeaderAndThePayloadsTypeAreRead() throws {
        let event = SyntheticEvent("task.completed", task: UUID(), status: "done")
        let payload = event.payload
        let cloud = try TaskEvent(record: record(event, payload: payload, headers: event.headers))
        let debezium = try TaskEvent(record: record(event, payload: payload, headers: [("id", Array(event.eventID.lowercaseString.utf8))]))
        #expect(debezium.eventID == event.eventID)
        #expect(debezium.type == "task.completed")
        #expect(debezium.taskID == cloud.taskID)
        #expect(debezium.occurredAt == cloud.occurredAt)
    }

    @Test func anEventWithoutAnIdOrWithABadOneIsInvalidAndSaysWhich() {
        let event = SyntheticEvent("task.created", task: UUID())
        for (headers, reason) in [([(name: String, value: [UInt8])](), "no ce_id (or id) header"),
                                  ([("id", Array("not-a-uuid".utf8))], "id is not a UUID"),
                                  ([("ce_id", Array("nope".utf8)), ("id", Array(event.eventID.lowercaseString.utf8))], "ce_id is not a UUID")] {
            do {
                _ = try TaskEvent(record: record(event, headers: headers))
                Issue.record("accepted \(headers.map(\.name))")
            } catch {
                #expect(error.description == reason)
            }
        }
    }

    @Test func aValidTraceparentGivesItsTraceIDAndAMalformedOneNone() throws {
        let event = SyntheticEvent("task.created", task: UUID())
        let id = (name: "ce_id", value: Array(event.eventID.lowercaseString.utf8))
        let traced = try TaskEvent(record: record(event, headers: [id, ("traceparent", Array("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".utf8))]))
        #expect(traced.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        let malformed = try TaskEvent(record: record(event, headers: [id, ("traceparent", Array("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01".utf8))]))
        #expect(malformed.traceID == nil)
    }
}
