import Foundation
import OutboxdCore
import OutboxdKafka

/// A task event read from Kafka: the JSON payload the outbox wrote and its event id, from the
/// CloudEvents `ce_id` header or, in the Debezium record shape (`OUTBOX_RECORD_SHAPE=debezium`),
/// the `id` header. Its texts hold no NUL (PostgreSQL cannot store one): each is replaced with
/// U+FFFD (`NULReplacement`), and `replacedNUL` says so.
public struct TaskEvent: Sendable {
    public let eventID: UUID
    public let type: String
    public let taskID: UUID
    public let occurredAt: Timestamp
    /// The whole payload text, as stored (`{"event_id", "event_type", "occurred_at", "task": {…}}`);
    /// written anew with U+FFFD for each NUL when it held one.
    public let payloadText: String
    /// `payload.task`.
    public let task: JSONObject
    /// The trace id of the record's W3C `traceparent` header (32 lowercase hex digits); nil when
    /// the header is missing or malformed (ignored, as the spec asks).
    public let traceID: String?
    /// The type or a string of the payload held NUL, replaced with U+FFFD.
    public let replacedNUL: Bool

    /// Why a record is not a task event; such a record goes to the dead-letter topic at once.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public init(record: KafkaRecord) throws(Invalid) {
        guard !record.isTombstone else { throw Invalid(description: "tombstone (null value)") }
        guard let (name, idText) = record.header("ce_id").map({ ("ce_id", $0) }) ?? record.header("id").map({ ("id", $0) }) else {
            throw Invalid(description: "no ce_id (or id) header")
        }
        guard let eventID = UUID(text: idText) else { throw Invalid(description: "\(name) is not a UUID") }
        var payload: JSONValue
        do { payload = try JSONParser.parse(record.value) } catch { throw Invalid(description: "value is not JSON: \(error)") }
        let payloadWithoutNUL = NULReplacement.mayHoldNUL(json: record.value) ? NULReplacement.json(payload) : nil
        if let payloadWithoutNUL { payload = payloadWithoutNUL }
        guard let object = payload.objectValue else { throw Invalid(description: "value is not a JSON object") }
        guard let type = record.header("ce_type") ?? object["event_type"]?.stringValue else { throw Invalid(description: "no ce_type header or event_type") }
        guard let task = object["task"]?.objectValue else { throw Invalid(description: "payload has no task object") }
        guard let taskID = task["id"]?.stringValue.flatMap(UUID.init(text:)) else { throw Invalid(description: "payload task.id is not a UUID") }
        guard let occurredText = object["occurred_at"]?.stringValue, let occurredAt = Timestamp(rfc3339: occurredText) else {
            throw Invalid(description: "payload occurred_at is not an RFC 3339 time")
        }
        self.eventID = eventID
        self.type = NULReplacement.text(type)
        replacedNUL = payloadWithoutNUL != nil || self.type != type
        self.taskID = taskID
        self.occurredAt = occurredAt
        self.payloadText = payloadWithoutNUL.map(JSONWriter.string) ?? String(decoding: record.value, as: UTF8.self)
        self.task = task
        self.traceID = record.header("traceparent").flatMap { TraceContext(traceparent: [$0], tracestate: [])?.traceID }.map(String.init)
    }

    /// `task.due_at`, when set.
    public var dueAt: Timestamp? { task["due_at"]?.stringValue.flatMap(Timestamp.init(rfc3339:)) }
}
