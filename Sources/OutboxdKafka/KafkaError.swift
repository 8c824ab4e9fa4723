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

    public var description: String { "Kafka \(code.name): \(message)" }
    public var debugDescription: String { "Kafka \(code.name) (\(code.rawValue)) during \(context): \(message)" }
}
