import OutboxdCore

/// What a librdkafka client is given: the brokers and any librdkafka properties.
public struct KafkaClientConfiguration: Sendable {
    /// `bootstrap.servers` (`host:port,…`).
    public var bootstrapServers: String
    /// librdkafka properties by their librdkafka name (`sasl.mechanisms`), each with the config
    /// key it came from (`KAFKA_SASL_MECHANISMS`) for error messages.
    public var properties: [(name: String, value: String, key: String)] = []
    /// Producer properties the daemon derives from its other keys (e.g. `OUTBOX_RECORD_SHAPE`'s
    /// partitioner), set before `properties`, so a `KAFKA_*` key of the same property wins.
    public var producerDerived: [(name: String, value: String, key: String)] = []

    public init(bootstrapServers: String, properties: [(name: String, value: String, key: String)] = [],
                producerDerived: [(name: String, value: String, key: String)] = []) {
        self.bootstrapServers = bootstrapServers
        self.properties = properties
        self.producerDerived = producerDerived
    }

    /// Producer settings the delivery guarantees need (G2, G3): idempotence keeps per-partition
    /// order across retries, `acks=all` waits for every in-sync replica. User properties come
    /// after these and may override them.
    public static let producerDefaults: [(name: String, value: String, key: String)] = [
        ("enable.idempotence", "true", "default"),
        ("acks", "all", "default"),
        // A batch is queued under the linger, then sent at once by a kick (`RDKafkaProducer.kick`):
        // as few requests as librdkafka can make of it, and a lone event does not wait the linger.
        ("linger.ms", "5", "default"),
        ("socket.nagle.disable", "true", "default"),
        ("statistics.interval.ms", "5000", "default"), // broker states for /metrics
    ]

    /// Consumer settings; user properties come after these and may override them.
    public static let consumerDefaults: [(name: String, value: String, key: String)] = [
        // A fetch that finds nothing new waits at most this long. A real broker answers as soon as
        // data arrives, but the embedded mock cluster does not, so librdkafka's 500 ms default was
        // an event's latency to its effect there (p50 ~400 ms at 1k tasks/s); 20 ms made the
        // consumers' fetches starve the relay's produce requests on the mock's single thread
        // (8–15 s behind at 3.8k tasks/s). 100 ms: p50 ~70 ms to the effect, the relay keeps up.
        ("fetch.wait.max.ms", "100", "default"),
        // What is fetched ahead per consumer; librdkafka's default allows 64 MB.
        ("queued.max.messages.kbytes", "8192", "default"),
    ]

    /// Every property a producer is made with, in the order they are set (later ones win): the
    /// defaults, the brokers, what the daemon derives from its own keys, then the user's.
    public func producerProperties(messageTimeout: Duration, topicPolicy: KafkaTopicPolicy) -> [(name: String, value: String, key: String)] {
        Self.producerDefaults
            + [("bootstrap.servers", bootstrapServers, "KAFKA_BOOTSTRAP_SERVERS"),
               ("message.timeout.ms", "\(max(1, messageTimeout.milliseconds))", "RELAY_DELIVERY_TIMEOUT"),
               ("allow.auto.create.topics", topicPolicy.create ? "true" : "false", "KAFKA_TOPIC_CREATE")]
            + producerDerived
            + properties
    }

    /// Every property a consumer of `groupID` is made with, in the order they are set.
    public func consumerProperties(groupID: String, fromBeginning: Bool, storeOffsetsAfterProcessing: Bool) -> [(name: String, value: String, key: String)] {
        [
            ("bootstrap.servers", bootstrapServers, "KAFKA_BOOTSTRAP_SERVERS"),
            ("group.id", groupID, "group.id"),
            ("auto.offset.reset", fromBeginning ? "earliest" : "latest", "auto.offset.reset"),
            ("enable.auto.commit", storeOffsetsAfterProcessing ? "true" : "false", "enable.auto.commit"),
            ("enable.auto.offset.store", "false", "enable.auto.offset.store"),
        ] + Self.consumerDefaults + properties
    }
}
