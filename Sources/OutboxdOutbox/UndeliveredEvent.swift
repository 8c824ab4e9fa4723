import OutboxdPostgres

/// An event that exists nowhere but in the WAL (`outbox_emit_message`) and was not delivered, or
/// content with the event prefix that is not an event: it becomes an outbox row, so nothing is
/// dropped silently (`OutboxStore.storeUndelivered`).
struct UndeliveredEvent {
    /// The event as read; nil when the content is not one.
    var message: OutboxEventMessage?
    /// The message's content as read: the payload of the parked row when the event cannot be a row.
    var content: [UInt8]
    var lsn: LSN
    /// Its index in the flight it was read in.
    var index: Int
    /// `last_error`.
    var error: String
    var delayMilliseconds: Int64
    /// Parked at once (a permanent error, or content that is not an event).
    var park: Bool
    /// Whether it failed (an attempt counted, `error` kept); false for an event held behind an
    /// earlier one of its key or without a report, written as a plain row.
    var failed: Bool

    /// The aggregate type (and event type) of the row that holds a message that is not an event.
    static let unreadableType = "outboxd.unreadable-message"
}
