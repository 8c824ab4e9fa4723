import CRdKafka
import Synchronization

/// librdkafka's in-process mock cluster: real Kafka protocol on loopback, so `kcat` and any client
/// can use `bootstrapServers`. For development (`KAFKA_BOOTSTRAP_SERVERS=embedded`) and tests.
public final class RDKafkaMockCluster: Sendable {
    private let owner: RDKafkaHandle
    private let cluster: MockClusterPointer
    public let bootstrapServers: String
    public let brokerCount: Int

    /// Starts `brokers` mock brokers and creates `topics` with their partition counts.
    public init(brokers: Int = 3, topics: [(name: String, partitions: Int)] = []) throws {
        let conf = try RDKafkaConfig.make([("log_level", "3", "embedded"), ("socket.nagle.disable", "true", "embedded")])
        let rk = try RDKafkaConfig.newHandle(RD_KAFKA_PRODUCER, conf, context: "embedded cluster")
        guard let mock = rd_kafka_mock_cluster_new(rk, Int32(brokers)) else {
            rd_kafka_destroy(rk)
            throw KafkaError(code: .init(rawValue: -1, name: "_FAIL"), message: "cannot start the mock cluster", context: "embedded cluster")
        }
        owner = RDKafkaHandle(raw: rk)
        cluster = MockClusterPointer(raw: mock)
        brokerCount = brokers
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(mock))
        for topic in topics { try createTopic(topic.name, partitions: topic.partitions) }
        Self.running.withLock { $0[bootstrapServers] = WeakCluster(cluster: self) }
    }

    /// Creates `name` (librdkafka's mock cluster has no CreateTopics API; this is its own way).
    public func createTopic(_ name: String, partitions: Int) throws {
        let code = rd_kafka_mock_topic_create(cluster.raw, name, Int32(partitions), Int32(min(brokerCount, 3)))
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw RDKafkaConfig.error(code, context: "create topic \(name)") }
    }

    /// The mock clusters of this process by bootstrap address, so that a client of one creates
    /// topics through `createTopic` instead of an Admin API the mock does not answer.
    private static let running = Mutex<[String: WeakCluster]>([:])

    static func serving(_ bootstrapServers: String) -> RDKafkaMockCluster? {
        running.withLock { $0[bootstrapServers]?.cluster }
    }

    /// Takes every broker down (connections refused/closed) or brings them back.
    public func setAllBrokers(up: Bool) {
        for id in 1...brokerCount { setBroker(Int32(id), up: up) }
    }

    public func setBroker(_ id: Int32, up: Bool) {
        if up {
            _ = rd_kafka_mock_broker_set_up(cluster.raw, id)
        } else {
            _ = rd_kafka_mock_broker_set_down(cluster.raw, id)
        }
    }

    /// Gives `partition` of `topic` no leader (`broker` nil): messages for it wait, then time out
    /// (`_MSG_TIMED_OUT`, an error that is retried); or makes `broker` its leader again.
    public func setLeader(topic: String, partition: Int32, broker: Int32?) {
        _ = rd_kafka_mock_partition_set_leader(cluster.raw, topic, partition, broker ?? -1)
    }

    /// Makes the next `count` Produce requests fail with `error` (e.g. `NOT_LEADER_FOR_PARTITION`).
    public func failNextProduceRequests(_ count: Int, with error: rd_kafka_resp_err_t) {
        var errors = Array(repeating: error, count: count)
        rd_kafka_mock_push_request_errors_array(cluster.raw, 0 /* ApiKey Produce */, count, &errors)
    }

    /// Adds `rtt` of latency to every reply of broker `id`.
    public func setRoundTrip(_ rtt: Duration, broker id: Int32) {
        _ = rd_kafka_mock_broker_set_rtt(cluster.raw, id, Int32(rtt.milliseconds))
    }

    deinit {
        Self.running.withLock { _ = $0.removeValue(forKey: bootstrapServers) }
        rd_kafka_mock_cluster_destroy(cluster.raw)
        rd_kafka_destroy(owner.raw)
    }
}

/// A registry entry that does not keep its cluster alive.
struct WeakCluster: @unchecked Sendable { // the cluster itself is Sendable; weak storage is what the compiler cannot check
    weak var cluster: RDKafkaMockCluster?
}

/// An `rd_kafka_mock_cluster_t *`; the mock API is thread-safe (it posts to the cluster's thread).
struct MockClusterPointer: @unchecked Sendable {
    let raw: OpaquePointer
}
