/// What the daemon does about a topic that does not exist: the events topic and its dead-letter
/// topic at start-up, and any topic an outbox row names before the relay produces to it.
public struct KafkaTopicPolicy: Sendable, Equatable {
    /// Create missing topics through the Admin API (`auto`), or refuse them (`never`: start-up
    /// fails naming the topic; a row for it is parked). Config key `KAFKA_TOPIC_CREATE`; default `auto`.
    public var create = true
    /// Partitions of a topic the daemon creates. Config key `KAFKA_TOPIC_PARTITIONS`; default 6.
    public var partitions = 6
    /// Replication factor of a topic the daemon creates; -1 takes the broker's
    /// `default.replication.factor`. Config key `KAFKA_TOPIC_REPLICATION_FACTOR`; default -1.
    public var replicationFactor = -1

    public init(create: Bool = true, partitions: Int = 6, replicationFactor: Int = -1) {
        self.create = create
        self.partitions = partitions
        self.replicationFactor = replicationFactor
    }
}
