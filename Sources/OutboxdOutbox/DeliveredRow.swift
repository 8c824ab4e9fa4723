import Foundation
import OutboxdCore

/// A row whose delivery report succeeded: what marking it records.
struct DeliveredRow: Equatable {
    let id: Int64
    /// As PostgreSQL prints it (`OutboxRow.eventIDText`).
    let eventIDText: String
    /// Parsed only for a waiting request (`Prefer: wait`).
    var eventID: UUID? { UUID(text: eventIDText) }
    let partition: Int32
    let offset: Int64
    /// Becomes the row's `published_at`.
    let reportedAt: Timestamp
    /// The topic a row without one was routed to (`OUTBOX_TOPIC_ROUTE`), recorded as its `topic`.
    var routedTopic: String? = nil
}
