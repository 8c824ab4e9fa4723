import CRdKafka

/// Builds an `rd_kafka_conf_t`; each rejected property throws naming its config key.
enum RDKafkaConfig {
    static func make(_ properties: [(name: String, value: String, key: String)]) throws -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(code: .init(rawValue: -1, name: "_FAIL"), message: "out of memory", context: "rd_kafka_conf_new")
        }
        for property in properties {
            if let message = set(conf, property.name, property.value) {
                rd_kafka_conf_destroy(conf)
                throw KafkaError(code: .init(rawValue: -186, name: "_INVALID_ARG"),
                                 message: "\(property.key) (librdkafka \(property.name)): \(message)", context: property.key)
            }
        }
        return conf
    }

    /// Sets one property on `conf`; librdkafka's complaint when it refuses it.
    static func set(_ conf: OpaquePointer, _ name: String, _ value: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 512)
        return rd_kafka_conf_set(conf, name, value, &buffer, buffer.count) == RD_KAFKA_CONF_OK ? nil : text(buffer)
    }

    /// Creates a client from `conf` (which it then owns, or destroys on failure), with our log callback.
    static func newHandle(_ type: rd_kafka_type_t, _ conf: OpaquePointer, context: String) throws -> OpaquePointer {
        rd_kafka_conf_set_log_cb(conf, rdKafkaLogCallback)
        var buffer = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(type, conf, &buffer, buffer.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(code: .init(rawValue: -1, name: "_FAIL"), message: text(buffer), context: context)
        }
        return rk
    }

    /// The integer value of the property `name` of the client `rk`, as librdkafka holds it.
    static func integer(_ name: String, of rk: OpaquePointer) -> Int? {
        var buffer = [CChar](repeating: 0, count: 64)
        var size = buffer.count
        guard rd_kafka_conf_get(rd_kafka_conf(rk), name, &buffer, &size) == RD_KAFKA_CONF_OK else { return nil }
        return Int(text(buffer))
    }

    /// The NUL-terminated text librdkafka wrote into `buffer`.
    static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A `KafkaError` for a `rd_kafka_resp_err_t`, with librdkafka's text or `message`.
    static func error(_ code: rd_kafka_resp_err_t, message: String? = nil, context: String) -> KafkaError {
        KafkaError(code: .init(rawValue: code.rawValue, name: String(cString: rd_kafka_err2name(code))),
                   message: message ?? String(cString: rd_kafka_err2str(code)), context: context)
    }

    /// The fatal error `rk` raised, if any (`rd_kafka_fatal_error`): its underlying code and reason.
    static func fatalError(of rk: OpaquePointer) -> KafkaError? {
        var buffer = [CChar](repeating: 0, count: 512)
        let code = rd_kafka_fatal_error(rk, &buffer, buffer.count)
        return code == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : error(code, message: text(buffer), context: "fatal")
    }
}
