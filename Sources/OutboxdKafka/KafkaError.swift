/// An error from librdkafka or a broker, with its `rd_kafka_resp_err_t` code.
///
/// `description` names the code and librdkafka's message (no payloads, no secrets);
/// `debugDescription` adds the raw code and context.
public struct KafkaError: Error, Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// `rd_kafka_resp_err_t` as its raw value and librdkafka's name (`MSG_SIZE_TOO_LARGE`, `_MSG_TIMED_OUT`).
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: Int32
        public let name: String
        public var description: String { name }

        public init(rawValue: Int32, name: String) {
            self.rawValue = rawValue
            self.name = name
        }
    }

    public let code: Code
    public let message: String
    /// What was being done (`produce`, `rd_kafka_new`, a config key).
    public let context: String

    public init(code: Code, message: String, context: String) {
        self.code = code
        self.message = message
        self.context = context
    }

    /// An error of the message itself, which no retry can cure: too large, a topic that does
    /// not exist or may not be written. The relay parks such a row at once (G6).
    public var isPermanent: Bool { Self.permanentCodes.contains(code.rawValue) }

    /// librdkafka raised a fatal error (idempotence can no longer be kept): the producer is
    /// unusable, and the messages it fails say nothing about the messages themselves.
    public var isFatal: Bool { code.rawValue == -150 } // RD_KAFKA_RESP_ERR__FATAL

    /// The producer purged the message (`_PURGE_QUEUE`, `_PURGE_INFLIGHT`: on close, or after a
    /// fatal error): it was given up, not refused, and says nothing about the message.
    public var isPurged: Bool { code.rawValue == -152 || code.rawValue == -151 }

    /// MSG_SIZE_TOO_LARGE, UNKNOWN_TOPIC_OR_PART, _UNKNOWN_TOPIC, TOPIC_EXCEPTION (invalid name),
    /// RECORD_LIST_TOO_LARGE, TOPIC_AUTHORIZATION_FAILED, INVALID_RECORD, _UNKNOWN_PARTITION (a
    /// row's `message_partition` the topic does not have).
    static let permanentCodes: Set<Int32> = [10, 3, -188, 17, 18, 29, 87, -190]

    public var description: String { "Kafka \(code.name): \(message)" }
    public var debugDescription: String { "Kafka \(code.name) (\(code.rawValue)) during \(context): \(message)" }
}
