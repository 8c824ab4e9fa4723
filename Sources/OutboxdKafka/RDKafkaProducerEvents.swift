import CRdKafka
import OutboxdCore
import Synchronization

/// What librdkafka tells a producer besides delivery reports, on its poll thread: the brokers'
/// states (statistics callback) and errors (error callback), the fatal one kept.
///
/// It is the client's opaque: the `RDKafkaProducer` that creates it owns it and keeps it alive
/// until after `rd_kafka_destroy`, so the callbacks never see it freed.
final class ProducerEvents: Sendable {
    let brokers = BrokerStates()
    private let fatal = Mutex<KafkaError?>(nil)

    /// The fatal error librdkafka raised, if any (`rd_kafka_fatal_error`): once set, the producer
    /// delivers nothing more and fails every message with `_FATAL`.
    var fatalError: KafkaError? { fatal.withLock { $0 } }

    func install(on conf: OpaquePointer) {
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self).toOpaque())
        rd_kafka_conf_set_stats_cb(conf, rdKafkaStatistics)
        rd_kafka_conf_set_error_cb(conf, rdKafkaError)
    }

    /// Keeps the first fatal error and logs it; later ones add nothing.
    func recordFatal(_ error: KafkaError) {
        let first = fatal.withLock { current -> Bool in
            guard current == nil else { return false }
            current = error
            return true
        }
        if first {
            Logger(label: "kafka").error("fatal producer error: publishing stops", ["code": error.code.name, "error": error.message])
        }
    }
}

/// librdkafka's statistics callback. Returns 0: librdkafka frees the JSON.
private let rdKafkaStatistics: @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>?, Int, UnsafeMutableRawPointer?) -> Int32 = { _, json, length, opaque in
    guard let json, let opaque else { return 0 }
    let bytes = Array(UnsafeRawBufferPointer(start: json, count: length))
    Unmanaged<ProducerEvents>.fromOpaque(opaque).takeUnretainedValue().brokers.update(fromStatistics: bytes)
    return 0
}

/// librdkafka's error callback: client-level errors (all brokers down, authentication, a fatal
/// idempotence error). librdkafka recovers from all but `_FATAL`, which is kept.
private let rdKafkaError: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = { rk, code, _, opaque in
    guard let opaque else { return }
    let events = Unmanaged<ProducerEvents>.fromOpaque(opaque).takeUnretainedValue()
    // Other errors are librdkafka's own log lines already (the log callback), and it recovers from them.
    guard RDKafkaConfig.error(rd_kafka_resp_err_t(rawValue: code), context: "producer").isFatal, let rk else { return }
    var buffer = [CChar](repeating: 0, count: 512)
    let underlying = rd_kafka_fatal_error(rk, &buffer, buffer.count)
    let cause = RDKafkaConfig.error(underlying, context: "fatal")
    events.recordFatal(KafkaError(code: cause.code, message: RDKafkaConfig.text(buffer), context: "fatal"))
}
