/// What a Kafka record built from an outbox row looks like. Config key `OUTBOX_RECORD_SHAPE`;
/// default `cloudevents`.
public enum RecordShape: String, Sendable, CaseIterable {
    /// CloudEvents binary mode: `ce_id`, `ce_type`, `ce_source`, `ce_time`, `ce_specversion` and
    /// `content-type` headers, then the row's stored headers.
    case cloudEvents = "cloudevents"
    /// What Debezium's outbox event router produces by default: the `__debezium.context.*`
    /// headers (`RecordFormat.debeziumContext`), header `id` (the event id), then the row's stored
    /// headers (a Debezium row's span context is its `traceparent`).
    case debezium

    /// Producer properties this shape needs, before the user's `KAFKA_*` ones (which win). In the
    /// Debezium shape the partitioner is Kafka's Java producer's (murmur2 of the key bytes), so a
    /// key lands on the partition Kafka Connect would have sent it to; librdkafka's own default
    /// (`consistent_random`, CRC32) picks another partition for most keys.
    public var producerProperties: [(name: String, value: String, key: String)] {
        switch self {
        case .cloudEvents: []
        case .debezium: [("partitioner", "murmur2_random", "OUTBOX_RECORD_SHAPE")]
        }
    }

    /// Headers the relay sets in this shape besides `RecordFormat.debeziumContext`'s.
    var relayOwnedHeaders: Set<String> {
        switch self {
        case .cloudEvents: ["ce_id", "ce_type", "ce_source", "ce_time", "ce_specversion", "content-type"]
        case .debezium: ["id"]
        }
    }
}
