import OutboxdPostgres

/// What a consumer does with task events. The runner records a poll batch's events in the
/// consumer's inbox and hands over those seen for the first time; the statements the handler
/// returns run in the same transaction, right after the inbox rows, so each effect happens once
/// per event (G5).
public protocol EventHandler: Sendable {
    /// The consumer's name: its inbox rows and its Kafka group (`outboxd-<name>`).
    var name: String { get }
    /// The statements that apply `events` (distinct, new to this consumer, in the order read),
    /// in a number that does not grow with the batch; none when no event concerns the handler.
    /// A throw (or a statement failing) rolls the batch back; the runner then applies its events
    /// one by one, so only a failing event is retried and dead-lettered.
    func statements(applying events: [TaskEvent]) throws -> [PipelinedStatement]
}
