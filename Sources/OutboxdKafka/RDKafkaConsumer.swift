import CRdKafka
import Foundation

/// A consumed message.
public struct KafkaRecord: Sendable {
    public let topic: String
    public let partition: Int32
    public let offset: Int64
    public let key: [UInt8]
    public let value: [UInt8]
    public let headers: [(name: String, value: [UInt8])]
    /// The value is null (a tombstone, which marks the key deleted for log compaction), not
    /// merely empty; `value` is then empty.
    public var isTombstone = false
    /// The positions in `headers` of headers with a null value (their `value` is empty).
    public var nullHeaders: Set<Int> = []
    /// The record's timestamp (ms since the epoch), as the producer set it or the broker did.
    public var timestampMilliseconds: Int64 = 0

    public func header(_ name: String) -> String? {
        headers.first { $0.name == name }.map { String(decoding: $0.value, as: UTF8.self) }
    }
}

/// A high-level consumer in a group, subscribed to topics. Used from one thread.
///
/// With `storeOffsetsAfterProcessing`, nothing is committed until the caller stores a record's
/// offset (`storeOffset`, after its effect committed); stored offsets are committed in the
/// background, when partitions are revoked in a rebalance, and on `close`.
public final class RDKafkaConsumer {
    private let handle: RDKafkaHandle
    private var closed = false

    public init(configuration: KafkaClientConfiguration, groupID: String, topics: [String], fromBeginning: Bool = true,
                storeOffsetsAfterProcessing: Bool = false) throws {
        let conf = try RDKafkaConfig.make(configuration.consumerProperties(groupID: groupID, fromBeginning: fromBeginning,
                                                                           storeOffsetsAfterProcessing: storeOffsetsAfterProcessing))
        if storeOffsetsAfterProcessing { rd_kafka_conf_set_rebalance_cb(conf, rdKafkaRebalance) }
        let rk = try RDKafkaConfig.newHandle(RD_KAFKA_CONSUMER, conf, context: "consumer")
        handle = RDKafkaHandle(raw: rk)
        rd_kafka_poll_set_consumer(rk)
        let list = rd_kafka_topic_partition_list_new(Int32(topics.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in topics { rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA) }
        let code = rd_kafka_subscribe(rk, list)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            rd_kafka_destroy(rk)
            throw RDKafkaConfig.error(code, context: "subscribe")
        }
    }

    /// The next message, or nil after `timeout` without one. Partition-end events are skipped.
    public func poll(timeout: Duration) throws -> KafkaRecord? {
        guard let message = rd_kafka_consumer_poll(handle.raw, Int32(timeout.milliseconds)) else { return nil }
        defer { rd_kafka_message_destroy(message) }
        let m = message.pointee
        if m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { return nil }
        guard m.err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw RDKafkaConfig.error(m.err, context: "consume") }
        var headers: [(name: String, value: [UInt8])] = []
        var nullHeaders: Set<Int> = []
        var list: OpaquePointer?
        if rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            var index = 0
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(list, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
                if value == nil { nullHeaders.insert(index) }
                headers.append((name.map { String(cString: $0) } ?? "", bytes))
                index += 1
            }
        }
        return KafkaRecord(
            topic: String(cString: rd_kafka_topic_name(m.rkt)),
            partition: m.partition,
            offset: m.offset,
            key: m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) } ?? [],
            value: m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) } ?? [],
            headers: headers,
            isTombstone: m.payload == nil,
            nullHeaders: nullHeaders,
            timestampMilliseconds: rd_kafka_message_timestamp(message, nil))
    }

    /// Polls until `count` messages arrived or `timeout` passed.
    public func read(count: Int, timeout: Duration) throws -> [KafkaRecord] {
        var records: [KafkaRecord] = []
        let deadline = ContinuousClock.now + timeout
        while records.count < count && ContinuousClock.now < deadline {
            if let record = try poll(timeout: .milliseconds(100)) { records.append(record) }
        }
        return records
    }

    /// The first offset the partition still holds and the next it will write, asked of its leader.
    public func watermarks(topic: String, partition: Int32, timeout: Duration) throws -> (low: Int64, high: Int64) {
        var low: Int64 = 0
        var high: Int64 = 0
        let code = rd_kafka_query_watermark_offsets(handle.raw, topic, partition, &low, &high, Int32(timeout.milliseconds))
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw RDKafkaConfig.error(code, context: "watermarks") }
        return (low, high)
    }

    /// Marks `record` processed: its offset + 1 is committed with the next commit.
    public func storeOffset(of record: KafkaRecord) throws {
        let list = rd_kafka_topic_partition_list_new(1)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let entry = rd_kafka_topic_partition_list_add(list, record.topic, record.partition)
        entry?.pointee.offset = record.offset + 1
        let code = rd_kafka_offsets_store(handle.raw, list)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw RDKafkaConfig.error(code, context: "offset store") }
    }

    /// The partitions of `topic` the group currently assigns to this consumer.
    public func assignedPartitions(of topic: String) -> Set<Int32> {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        guard rd_kafka_assignment(handle.raw, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return [] }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        var partitions: Set<Int32> = []
        for entry in UnsafeBufferPointer(start: list.pointee.elems, count: Int(list.pointee.cnt)) where String(cString: entry.topic) == topic {
            partitions.insert(entry.partition)
        }
        return partitions
    }

    /// Makes `record` the next message of its partition again (what was fetched after it is
    /// dropped), so that a record that could not be finished is polled again, not skipped.
    public func rewind(to record: KafkaRecord, timeout: Duration = .seconds(5)) throws {
        let list = rd_kafka_topic_partition_list_new(1)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let entry = rd_kafka_topic_partition_list_add(list, record.topic, record.partition)
        entry?.pointee.offset = record.offset
        if let failure = rd_kafka_seek_partitions(handle.raw, list, Int32(timeout.milliseconds)) {
            defer { rd_kafka_error_destroy(failure) }
            throw RDKafkaConfig.error(rd_kafka_error_code(failure), context: "seek")
        }
        let code = list!.pointee.elems[0].err
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw RDKafkaConfig.error(code, context: "seek") }
    }

    /// The partition's high watermark as the fetcher last saw it (no broker round trip); nil while unknown.
    public func highWatermark(topic: String, partition: Int32) -> Int64? {
        var low: Int64 = -1
        var high: Int64 = -1
        let code = rd_kafka_get_watermark_offsets(handle.raw, topic, partition, &low, &high)
        return code == RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0 ? high : nil
    }

    /// Commits stored offsets and leaves the group. Call once; later calls do nothing.
    public func close() {
        guard !closed else { return }
        closed = true
        rd_kafka_consumer_close(handle.raw)
        rd_kafka_destroy(handle.raw)
    }

    deinit { close() }
}

/// librdkafka's rebalance callback, on the polling thread: takes assigned partitions; on revoke,
/// first commits the offsets stored so far, so the next owner starts after what was processed.
private let rdKafkaRebalance: @convention(c) (OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?) -> Void = { rk, error, partitions, _ in
    guard let rk else { return }
    let cooperative = rd_kafka_rebalance_protocol(rk).map { String(cString: $0) } == "COOPERATIVE"
    switch error {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        if cooperative {
            if let failure = rd_kafka_incremental_assign(rk, partitions) { rd_kafka_error_destroy(failure) }
        } else {
            _ = rd_kafka_assign(rk, partitions)
        }
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        _ = rd_kafka_commit(rk, nil, 0)
        if cooperative {
            if let failure = rd_kafka_incremental_unassign(rk, partitions) { rd_kafka_error_destroy(failure) }
        } else {
            _ = rd_kafka_assign(rk, nil)
        }
    default:
        _ = rd_kafka_assign(rk, nil)
    }
}
