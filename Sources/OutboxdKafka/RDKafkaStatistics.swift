import CRdKafka
import OutboxdCore
import Synchronization

/// The brokers' connection states from librdkafka's statistics (every `statistics.interval.ms`),
/// e.g. `["localhost:9092/1": "UP"]`; empty until the first statistics arrive.
final class BrokerStates: Sendable {
    private let states = Mutex<[String: String]>([:])

    var current: [String: String] { states.withLock { $0 } }

    func update(fromStatistics json: [UInt8]) {
        guard let parsed = Self.brokers(fromStatistics: json) else { return }
        states.withLock { $0 = parsed }
    }

    /// `brokers.<name>.state` of each broker with a node id (the bootstrap entries have -1) that
    /// the client has tried to reach (not `INIT`: with sparse connections a broker that leads no
    /// partition we write to is never connected).
    static func brokers(fromStatistics json: [UInt8]) -> [String: String]? {
        guard let brokers = (try? JSONParser.parse(json))?.objectValue?["brokers"]?.objectValue else { return nil }
        var states: [String: String] = [:]
        for member in brokers.members {
            guard let broker = member.value.objectValue, let state = broker["state"]?.stringValue,
                  (broker["nodeid"]?.intValue ?? -1) >= 0, state != "INIT" else { continue }
            states[member.key] = state
        }
        return states
    }

    /// Registers the statistics callback on `conf`, with `self` as the client's opaque. The
    /// producer that owns this object keeps it alive until after `rd_kafka_destroy`.
    func install(on conf: OpaquePointer) {
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self).toOpaque())
        rd_kafka_conf_set_stats_cb(conf, rdKafkaStatistics)
    }
}

/// librdkafka's statistics callback, on the poll thread. Returns 0: librdkafka frees the JSON.
private let rdKafkaStatistics: @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>?, Int, UnsafeMutableRawPointer?) -> Int32 = { _, json, length, opaque in
    guard let json, let opaque else { return 0 }
    let bytes = Array(UnsafeRawBufferPointer(start: json, count: length))
    Unmanaged<BrokerStates>.fromOpaque(opaque).takeUnretainedValue().update(fromStatistics: bytes)
    return 0
}
