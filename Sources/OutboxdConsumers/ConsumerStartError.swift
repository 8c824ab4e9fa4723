/// A consumer's Kafka client could not be made (a setting only a consumer refuses, say): its
/// thread fails with this, and the process stops rather than run without the consumer.
public struct ConsumerStartError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public enum Code: Sendable { case kafkaClient }
    public let code: Code = .kafkaClient
    /// The consumer's name (`audit`, …).
    public let consumer: String
    let underlying: any Error

    public init(consumer: String, underlying: any Error) {
        self.consumer = consumer
        self.underlying = underlying
    }

    /// librdkafka's configuration errors name the setting, not a server or a secret.
    public var description: String { "the \(consumer) consumer cannot start: \(underlying)" }
    public var debugDescription: String { "ConsumerStartError(\(consumer), underlying: \(String(reflecting: underlying)))" }
}
