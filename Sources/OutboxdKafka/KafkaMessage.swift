import OutboxdCore

/// One message to produce. Key and value are bytes; headers keep their order.
public struct KafkaMessage: Sendable {
    public var topic: String
    public var key: [UInt8]
    public var value: [UInt8]
    public var headers: [(name: String, value: [UInt8])]
    /// nil: the partitioner picks it from the key.
    public var partition: Int32?
    /// Produce a null value (a tombstone) instead of `value`.
    public var isTombstone = false
    /// The positions in `headers` of headers sent with a null value (their `value` is empty).
    public var nullHeaders: Set<Int> = []
    /// The record's timestamp (ms since the epoch); nil: the time it is produced.
    public var timestampMilliseconds: Int64?

    public init(topic: String, key: [UInt8], value: [UInt8], headers: [(name: String, value: [UInt8])] = [], partition: Int32? = nil) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
        self.partition = partition
    }
}

/// Where a message landed, or why it did not.
public enum DeliveryResult: Sendable, Equatable {
    /// `reportedAt`: when the delivery report reached this process (its clock).
    case delivered(partition: Int32, offset: Int64, reportedAt: Timestamp)
    case failed(KafkaError)
    /// No report arrived before the caller's deadline; the message may still be delivered.
    case unknown
    /// Never handed to librdkafka: an earlier message of its chain failed at once
    /// (`RDKafkaProducer.produce(_:chains:onComplete:)`).
    case notProduced
}
