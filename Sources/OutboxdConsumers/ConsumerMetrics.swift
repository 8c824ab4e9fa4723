import OutboxdCore

/// What the consumers of a process measure for `/metrics`; one instance shared by all of them
/// (their series are labelled `consumer`).
public final class ConsumerMetrics: Sendable {
    public let effectLatency = Histogram("outboxd_consumer_effect_latency_seconds",
                                         "From an event's occurred_at (its task's transaction) to the commit of the consumer's transaction that applied it, by consumer.",
                                         labels: ["consumer"],
                                         buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300])

    public init() {}

    public var families: [any MetricsCollector] { [effectLatency] }
}
