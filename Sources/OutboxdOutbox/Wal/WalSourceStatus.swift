/// What the WAL source is doing, for `/readyz` and `/metrics`.
public struct WalSourceStatus: Sendable, Equatable {
    public enum Phase: String, Sendable {
        case starting
        /// Reading the slot.
        case streaming
        /// Another relay reads the slot; this one takes over when it goes.
        case standby
        /// The last attempt failed; trying again.
        case failing
    }

    public var phase = Phase.starting
    /// The last error, in a few safe words (no server text).
    public var lastError: String?
    /// When the slot's position was last confirmed to the server.
    public var confirmedAt: ContinuousClock.Instant?
    /// WAL the slot holds back, as last read (every `WalSource.statusInterval`).
    public var retainedBytes: Int64 = 0
    /// Outbox transactions the stream handed on, and slots created after one went missing.
    public var transactions = 0
    public var slotsRecreated = 0
    /// Events of `outbox_emit_message` read from the stream, and those written as outbox rows
    /// because they were not delivered (or were not events).
    public var messages = 0
    public var messagesStored = 0
}
