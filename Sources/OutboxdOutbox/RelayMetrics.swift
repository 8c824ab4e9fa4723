import OutboxdCore

/// What the relay counts for `/metrics`.
public struct RelayMetrics: Sendable {
    public let published = Counter("outboxd_relay_published_total", "Events delivered to Kafka and marked published, by topic.", labels: ["topic"])
    public let failures = Counter("outboxd_relay_publish_failures_total",
                                  "Deliveries that failed, by librdkafka error name (NO_OFFSET: a success without an offset, sent again).",
                                  labels: ["reason"])
    public let parked = Counter("outboxd_relay_parked_total", "Events parked after RELAY_MAX_ATTEMPTS failed deliveries.")
    public let orderGaps = Counter("outboxd_relay_order_gaps_total",
                                   "Events delivered after an earlier event of their key failed with a retried error in the same partition queue (a gap the idempotent producer left).")
    public let latency = Histogram("outboxd_relay_delivery_latency_seconds",
                                   "From an event's created_at (its transaction) to its batch's delivery reports.",
                                   buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300])
    public let kafkaAck = Histogram("outboxd_relay_kafka_ack_seconds",
                                    "From producing an event to its delivery report (the rest of the delivery latency is the wait for the claim).",
                                    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30])
    public let batchSize = Histogram("outboxd_relay_batch_rows", "Rows claimed per relay batch.",
                                     buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000])

    public init() {}

    public var families: [any MetricsCollector] { [published, failures, parked, orderGaps, latency, kafkaAck, batchSize] }
}
