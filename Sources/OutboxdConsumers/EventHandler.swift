import OutboxdPostgres

/// What a consumer does with each task event. `apply` runs inside the transaction that also
/// records the event in the consumer's inbox, so the effect happens once per event (G5).
public protocol EventHandler: Sendable {
    /// The consumer's name: its inbox rows and its Kafka group (`outboxd-<name>`).
    var name: String { get }
    /// Applies the effect of `event` (events the handler ignores are still recorded as seen).
    func apply(_ event: TaskEvent, on connection: PQConnection) throws
}
