import CRdKafka

/// librdkafka's verdict on the properties a client would be made with, without a client that
/// connects anywhere: `outboxd check-config` and every other command ask it before anything starts.
public enum RDKafkaConfigCheck {
    public enum Client: Sendable {
        case producer, consumer
    }

    /// Why librdkafka refuses: the config key of the property it named (nil when it names none
    /// of them) and its own text, which may quote the value.
    public struct Refusal: Error, Sendable {
        public let key: String?
        public let property: String?
        public let reason: String
    }

    /// Sets `properties` in order on a new conf, as the client would be made (the first one
    /// refused throws), then makes a client of that conf with no brokers (`bootstrap.servers`
    /// emptied, its log silenced) and destroys it at once: librdkafka checks properties against
    /// each other (`acks` with `enable.idempotence`, `fetch.max.bytes` with `message.max.bytes`)
    /// only when it makes a client. Returns the effective values of `read` (librdkafka's defaults
    /// where unset). With `sasl.oauthbearer.method=oidc` no client is made, since librdkafka would
    /// fetch a token from the endpoint at once.
    public static func check(_ client: Client, _ properties: [(name: String, value: String, key: String)],
                             read: [String]) throws(Refusal) -> [String: String] {
        guard let conf = rd_kafka_conf_new() else { throw Refusal(key: nil, property: nil, reason: "out of memory") }
        for property in properties {
            if let reason = RDKafkaConfig.set(conf, property.name, property.value) {
                rd_kafka_conf_destroy(conf)
                throw Refusal(key: property.key, property: property.name, reason: reason)
            }
        }
        var values: [String: String] = [:]
        for name in read { values[name] = value(of: name, in: conf) }
        guard value(of: "sasl.oauthbearer.method", in: conf) != "oidc" else {
            rd_kafka_conf_destroy(conf)
            return values
        }
        _ = RDKafkaConfig.set(conf, "bootstrap.servers", "")
        rd_kafka_conf_set_log_cb(conf) { _, _, _, _ in }
        var buffer = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(client == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER, conf, &buffer, buffer.count) else {
            rd_kafka_conf_destroy(conf)
            let reason = RDKafkaConfig.text(buffer)
            // The user's property (KAFKA_*) that librdkafka's text names first.
            let named = properties.filter { $0.key.hasPrefix("KAFKA_") }
                .compactMap { property in reason.range(of: property.name).map { (property, $0.lowerBound) } }
                .min { $0.1 < $1.1 }?.0
            throw Refusal(key: named?.key, property: named?.name, reason: reason)
        }
        rd_kafka_destroy(rk)
        return values
    }

    /// A property's value in `conf` (its default when unset); nil for a name librdkafka does not know.
    private static func value(of name: String, in conf: OpaquePointer) -> String? {
        var size = 0
        guard rd_kafka_conf_get(conf, name, nil, &size) == RD_KAFKA_CONF_OK else { return nil }
        var buffer = [CChar](repeating: 0, count: max(size, 1))
        guard rd_kafka_conf_get(conf, name, &buffer, &size) == RD_KAFKA_CONF_OK else { return nil }
        return RDKafkaConfig.text(buffer)
    }
}
