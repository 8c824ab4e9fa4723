import CRdKafka
import Foundation
import OutboxdCore

/// Topics are provisioned, not hoped for: looked up in the cluster's metadata, and created
/// through the Admin API when `topicPolicy` allows it.
extension RDKafkaProducer {
    /// Makes sure each of `names` exists (creating it by `topicPolicy`). Returns the topics that
    /// do not exist and were not created, each with a permanent error saying why. Throws when the
    /// cluster cannot be asked (no broker answers within `timeout`).
    public func provisionTopics(_ names: Set<String>, timeout: Duration) throws -> [String: KafkaError] {
        let deadline = ContinuousClock.now + timeout
        let unknown = knownTopics.withLock { names.subtracting($0) }
        guard !unknown.isEmpty else { return [:] }
        var missing = unknown.subtracting(try readyTopics(timeout: timeout))
        remember(unknown.subtracting(missing))
        guard !missing.isEmpty else { return [:] }
        guard topicPolicy.create else {
            return Dictionary(uniqueKeysWithValues: missing.map { topic in
                (topic, RDKafkaConfig.error(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
                                            message: "topic \(topic) does not exist and KAFKA_TOPIC_CREATE=never", context: "topics"))
            })
        }
        var refused: [String: KafkaError] = [:]
        for (topic, error) in try createTopics(missing, timeout: max(deadline - ContinuousClock.now, .milliseconds(100))) {
            if let error, error.code.rawValue != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS.rawValue {
                refused[topic] = error
            }
        }
        missing.subtract(refused.keys)
        // Created: wait until the metadata shows every partition with a leader, so that producers
        // and consumers that start now find it at once (no metadata refresh interval to wait out).
        while !missing.isEmpty {
            missing.subtract(try readyTopics(timeout: max(deadline - ContinuousClock.now, .milliseconds(100))))
            guard !missing.isEmpty else { break }
            guard ContinuousClock.now < deadline else {
                throw RDKafkaConfig.error(RD_KAFKA_RESP_ERR__TIMED_OUT,
                                          message: "topic(s) \(missing.sorted().joined(separator: ", ")) created but not ready within \(timeout)",
                                 context: "topics")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        remember(unknown.subtracting(refused.keys))
        if !refused.isEmpty { Logger(label: "kafka").error("cannot create topic(s)", ["topics": refused.keys.sorted().joined(separator: ","), "error": refused.values.first!.description]) }
        return refused
    }

    /// `provisionTopics` for the produce path: a cluster that cannot be asked right now is not an
    /// answer, so those topics are produced to as usual (and asked about again next time).
    func ensureTopics(_ names: Set<String>, timeout: Duration) -> [String: KafkaError] {
        do {
            return try provisionTopics(names, timeout: timeout)
        } catch {
            Logger(label: "kafka").warning("cannot look up topics; producing anyway", ["error": "\(error)"])
            return [:]
        }
    }

    private func remember(_ topics: Set<String>) {
        guard !topics.isEmpty else { return }
        knownTopics.withLock { $0.formUnion(topics) }
    }

    /// The topics of the cluster whose partitions all have a leader.
    private func readyTopics(timeout: Duration) throws -> Set<String> {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let code = rd_kafka_metadata(handle.raw, 1, nil, &metadata, Int32(max(1, timeout.milliseconds)))
        defer { if let metadata { rd_kafka_metadata_destroy(metadata) } }
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else { throw RDKafkaConfig.error(code, context: "metadata") }
        var ready: Set<String> = []
        for topic in UnsafeBufferPointer(start: metadata.pointee.topics, count: Int(metadata.pointee.topic_cnt)) {
            guard topic.err == RD_KAFKA_RESP_ERR_NO_ERROR, topic.partition_cnt > 0 else { continue }
            let partitions = UnsafeBufferPointer(start: topic.partitions, count: Int(topic.partition_cnt))
            if partitions.allSatisfy({ $0.leader >= 0 }) { ready.insert(String(cString: topic.topic)) }
        }
        return ready
    }

    /// CreateTopics for `topics` with the policy's partitions and replication factor; each topic's
    /// error (nil when created). An in-process mock cluster creates them through its own API; a
    /// cluster without a controller or without the Admin API (librdkafka's mock in another
    /// process) is asked for the topic's metadata instead, which creates it where brokers
    /// auto-create topics.
    private func createTopics(_ topics: Set<String>, timeout fullTimeout: Duration) throws -> [String: KafkaError?] {
        let timeout = min(fullTimeout, .seconds(5))
        if let mock = RDKafkaMockCluster.serving(bootstrapServers) {
            for topic in topics { try mock.createTopic(topic, partitions: topicPolicy.partitions) }
            return Dictionary(uniqueKeysWithValues: topics.map { ($0, nil) })
        }
        let milliseconds = Int32(max(1, timeout.milliseconds))
        // CreateTopics goes to the controller; a cluster that names none (librdkafka's mock in
        // another process) would leave the request waiting out its timeout.
        guard rd_kafka_controllerid(handle.raw, min(milliseconds, 2000)) >= 0 else {
            for topic in topics { try requestMetadata(of: topic, timeout: timeout) }
            return Dictionary(uniqueKeysWithValues: topics.map { ($0, nil) })
        }
        var errorText = [CChar](repeating: 0, count: 512)
        var requests: [OpaquePointer?] = []
        defer { requests.forEach { rd_kafka_NewTopic_destroy($0) } }
        for topic in topics.sorted() {
            guard let request = rd_kafka_NewTopic_new(topic, Int32(topicPolicy.partitions), Int32(topicPolicy.replicationFactor),
                                                      &errorText, errorText.count) else {
                throw RDKafkaConfig.error(RD_KAFKA_RESP_ERR__INVALID_ARG, message: "topic \(topic): \(RDKafkaConfig.text(errorText))",
                                          context: "topics")
            }
            requests.append(request)
        }
        let queue = rd_kafka_queue_new(handle.raw)
        defer { rd_kafka_queue_destroy(queue) }
        let options = rd_kafka_AdminOptions_new(handle.raw, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        _ = rd_kafka_AdminOptions_set_request_timeout(options, milliseconds, &errorText, errorText.count)
        _ = rd_kafka_AdminOptions_set_operation_timeout(options, milliseconds, &errorText, errorText.count)
        requests.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_CreateTopics(handle.raw, buffer.baseAddress, buffer.count, options, queue)
        }
        let event = rd_kafka_queue_poll(queue, milliseconds + 1000)
        defer { if let event { rd_kafka_event_destroy(event) } }
        let requestError = event.map { rd_kafka_event_error($0) } ?? RD_KAFKA_RESP_ERR__TIMED_OUT
        if [RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE, RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION, RD_KAFKA_RESP_ERR__TIMED_OUT].contains(requestError) {
            // No Admin API (librdkafka's mock cluster leaves CreateTopics unanswered): the metadata
            // request auto-creates where brokers do; the caller then checks that the topic is there.
            Logger(label: "kafka").warning("CreateTopics not answered; asking the brokers to auto-create instead",
                                           ["topics": topics.sorted().joined(separator: ","), "error": RDKafkaConfig.error(requestError, context: "CreateTopics").description])
            for topic in topics { try requestMetadata(of: topic, timeout: timeout) }
            return Dictionary(uniqueKeysWithValues: topics.map { ($0, nil) })
        }
        guard requestError == RD_KAFKA_RESP_ERR_NO_ERROR, let event, let result = rd_kafka_event_CreateTopics_result(event) else {
            throw RDKafkaConfig.error(requestError, context: "CreateTopics")
        }
        var count = 0
        guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return [:] }
        var outcome: [String: KafkaError?] = [:]
        for entry in UnsafeBufferPointer(start: results, count: count) {
            let name = String(cString: rd_kafka_topic_result_name(entry))
            let code = rd_kafka_topic_result_error(entry)
            guard code != RD_KAFKA_RESP_ERR_NO_ERROR else {
                outcome[name] = .some(nil)
                Logger(label: "kafka").notice("created topic", ["topic": name, "partitions": "\(topicPolicy.partitions)",
                                                                "replication_factor": "\(topicPolicy.replicationFactor)"])
                continue
            }
            let detail = rd_kafka_topic_result_error_string(entry).map { String(cString: $0) } ?? ""
            let reason = detail.isEmpty ? String(cString: rd_kafka_err2str(code)) : detail
            outcome[name] = RDKafkaConfig.error(code, message: "cannot create topic \(name): \(reason)", context: "CreateTopics")
        }
        return outcome
    }

    /// A metadata request naming `topic`: brokers that auto-create topics create it.
    private func requestMetadata(of topic: String, timeout: Duration) throws {
        guard let handleOfTopic = rd_kafka_topic_new(handle.raw, topic, nil) else { return }
        defer { rd_kafka_topic_destroy(handleOfTopic) }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let code = rd_kafka_metadata(handle.raw, 0, handleOfTopic, &metadata, Int32(max(1, timeout.milliseconds)))
        if let metadata { rd_kafka_metadata_destroy(metadata) }
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw RDKafkaConfig.error(code, context: "metadata") }
    }
}
