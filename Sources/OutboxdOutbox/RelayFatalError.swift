import OutboxdKafka

/// Why the relay ended by itself: its producer hit a fatal error (librdkafka can no longer keep
/// idempotence), so nothing more can be published until a new producer, a restart, takes over.
/// The rows of the batches in flight were left pending, no attempt counted (`RelayBatchOutcome`).
public struct RelayFatalError: Error, CustomStringConvertible, CustomDebugStringConvertible {
    /// librdkafka's fatal error; its `code` is the `rd_kafka_resp_err_t`.
    public let kafka: KafkaError

    public var description: String { "Kafka producer fatal error \(kafka.code.name): \(kafka.message)" }
    public var debugDescription: String { "RelayFatalError(\(kafka.debugDescription))" }
}
