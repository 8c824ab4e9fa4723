import CRdKafka
import Foundation
import OutboxdCore
import Synchronization
import OutboxdTestSupport
import Testing
@testable import OutboxdKafka

/// The producer against librdkafka's mock cluster, read back with a real consumer.
@Suite struct RDKafkaProducerTests {
    func cluster(partitions: Int = 4) throws -> RDKafkaMockCluster {
        try RDKafkaMockCluster(brokers: 3, topics: [("events", partitions)])
    }

    @Test func deliversEveryMessageWithKeysHeadersAndOffsets() throws {
        let kafka = try cluster()
        let producer = try RDKafkaProducer(configuration: KafkaClientConfiguration(bootstrapServers: kafka.bootstrapServers))
        defer { producer.close() }
        try producer.checkReachable(timeout: .seconds(10))
        let messages = (0..<200).map { n in
            KafkaMessage(topic: "events", key: Array("key-\(n % 10)".utf8), value: Array("value-\(n)".utf8),
                         headers: [("ce_id", Array("id-\(n)".utf8)), ("ce_type", Array("test".utf8))])
        }
        let sent = Timestamp.now()
        let results = producer.send(messages, timeout: .seconds(30))
        let returned = Timestamp.now()
        var offsets: [String: (Int32, Int64)] = [:]
        for (n, result) in results.enumerated() {
            guard case .delivered(let partition, let offset, let reportedAt) = result else {
                Issue.record("message \(n): \(result)")
                continue
            }
            offsets["id-\(n)"] = (partition, offset)
            #expect(sent <= reportedAt && reportedAt <= returned, "message \(n) reported at \(reportedAt), sent \(sent), returned \(returned)")
        }
        #expect(offsets.count == 200)

        let consumer = try RDKafkaConsumer(configuration: KafkaClientConfiguration(bootstrapServers: kafka.bootstrapServers),
                                           groupID: "test-\(UUID())", topics: ["events"])
        let records = try consumer.read(count: 200, timeout: .seconds(60))
        #expect(records.count == 200)
        for record in records {
            let id = try #require(record.header("ce_id"))
            #expect(record.header("ce_type") == "test")
            let n = Int(id.dropFirst(3))!
            #expect(String(decoding: record.value, as: UTF8.self) == "value-\(n)")
            #expect(String(decoding: record.key, as: UTF8.self) == "key-\(n % 10)")
            #expect(offsets[id]?.0 == record.partition)
            #expect(offsets[id]?.1 == record.offset)
        }
        // Per key, the consumer sees the production order.
        let byKey = Dictionary(grouping: records, by: { String(decoding: $0.key, as: UTF8.self) })
        for (_, keyed) in byKey {
            let sequence = keyed.map { Int($0.header("ce_id")!.dropFirst(3))! }
            #expect(sequence == sequence.sorted())
        }
    }

    /// `onComplete` runs once, after the last report, so a waiting thread can be woken by it.
    @Test func completionCallbackRunsOnceAfterEveryReport() throws {
        let kafka = try cluster()
        let producer = try RDKafkaProducer(configuration: KafkaClientConfiguration(bootstrapServers: kafka.bootstrapServers))
        defer { producer.close() }
        let calls = Mutex(0)
        let called = DispatchSemaphore(value: 0)
        let messages = (0..<50).map { n in KafkaMessage(topic: "events", key: Array("k\(n)".utf8), value: Array("v\(n)".utf8), headers: []) }
        let batch = producer.produce(messages) {
            calls.withLock { $0 += 1 }
            called.signal()
        }
        #expect(called.wait(timeout: .now() + 30) == .success)
        #expect(batch.isComplete)
        let results = batch.results(waitingUpTo: .zero)
        #expect(results.allSatisfy { if case .delivered = $0 { true } else { false } })
        #expect(results.count == 50)
        #expect(calls.withLock { $0 } == 1)
    }

    /// The producer lingers so that a batch leaves in few requests, and kicks each batch out once
    /// it is queued: under a linger of a minute, lone messages and a whole batch over every
    /// partition are delivered without waiting it out (the sends give up long before it ends).
    @Test func batchesAndLoneMessagesDoNotWaitOutTheLinger() throws {
        let kafka = try cluster()
        let producer = try RDKafkaProducer(configuration: KafkaClientConfiguration(bootstrapServers: kafka.bootstrapServers,
                                                                                    properties: [("linger.ms", "60000", "test")]))
        defer { producer.close(flushTimeout: .milliseconds(100)) }
        try producer.checkReachable(timeout: .seconds(10))
        for n in 0..<5 {
            let result = producer.send([KafkaMessage(topic: "events", key: Array("lone-\(n)".utf8), value: Array("v".utf8))], timeout: .seconds(20))
            guard case .delivered = result[0] else {
                Issue.record("lone message \(n): \(result[0])")
                return
            }
        }
        let batch = (0..<400).map { n in KafkaMessage(topic: "events", key: Array("key-\(n)".utf8), value: Array("value-\(n)".utf8)) }
        let results = producer.send(batch, timeout: .seconds(20))
        let partitions = Set(results.compactMap { if case .delivered(let partition, _, _) = $0 { partition } else { nil } })
        #expect(results.allSatisfy { if case .delivered = $0 { true } else { false } })
        #expect(partitions.count == 4)
    }

    @Test func oversizedMessageFailsAloneWithItsCode() throws {
        let kafka = try cluster()
        let producer = try RDKafkaProducer(configuration: KafkaClientConfiguration(
            bootstrapServers: kafka.bootstrapServers, properties: [("message.max.bytes", "10000", "KAFKA_MESSAGE_MAX_BYTES")]))
        defer { producer.close() }
        let results = producer.send([
            KafkaMessage(topic: "events", key: [1], value: Array(repeating: 7, count: 100)),
            KafkaMessage(topic: "events", key: [2], value: Array(repeating: 7, count: 50_000)),
            KafkaMessage(topic: "events", key: [3], value: Array(repeating: 7, count: 100)),
        ], timeout: .seconds(30))
        guard case .delivered = results[0], case .delivered = results[2] else {
            Issue.record("small messages not delivered: \(results)")
            return
        }
        guard case .failed(let error) = results[1] else {
            Issue.record("oversized message not refused: \(results[1])")
            return
        }
        #expect(error.code.name == "MSG_SIZE_TOO_LARGE")
    }

    @Test func brokersDownThenUpDeliversAfterRecovery() throws {
        let kafka = try cluster()
        let producer = try RDKafkaProducer(configuration: KafkaClientConfiguration(
            bootstrapServers: kafka.bootstrapServers, properties: [("message.timeout.ms", "60000", "KAFKA_MESSAGE_TIMEOUT_MS")]))
        defer { producer.close() }
        try producer.checkReachable(timeout: .seconds(10))
        kafka.setAllBrokers(up: false)
        let down = producer.send([KafkaMessage(topic: "events", key: [1], value: [1])], timeout: .milliseconds(500))
        #expect(down == [.unknown])
        kafka.setAllBrokers(up: true)
        #expect(producer.flush(timeout: .seconds(30)))
        let up = producer.send([KafkaMessage(topic: "events", key: [2], value: [2])], timeout: .seconds(30))
        guard case .delivered = up[0] else {
            Issue.record("not delivered after recovery: \(up)")
            return
        }
    }

    /// The statistics callback reports each broker's connection state; a broker gone is seen down.
    @Test func brokerStatesFollowTheCluster() throws {
        let kafka = try cluster()
        let producer = try RDKafkaProducer(configuration: KafkaClientConfiguration(
            bootstrapServers: kafka.bootstrapServers, properties: [("statistics.interval.ms", "100", "KAFKA_STATISTICS_INTERVAL_MS")]))
        defer { producer.close() }
        let results = producer.send((0..<40).map { KafkaMessage(topic: "events", key: [UInt8($0)], value: [1]) }, timeout: .seconds(30))
        #expect(Set(results.compactMap { if case .delivered(let partition, _, _) = $0 { partition } else { nil } }).count == 4)
        try waitUntil("the brokers in use are UP", timeout: .seconds(20)) {
            !producer.brokerStates.isEmpty && producer.brokerStates.values.allSatisfy { $0 == "UP" }
        }
        kafka.setAllBrokers(up: false)
        // The mock drops its connections when a request comes, as a dead broker's would fail.
        _ = producer.send([KafkaMessage(topic: "events", key: [1], value: [1])], timeout: .milliseconds(200))
        try waitUntil("a broker is seen down", timeout: .seconds(20)) { producer.brokerStates.values.contains { $0 != "UP" } }
        kafka.setAllBrokers(up: true)
    }

    @Test func brokerStatesSkipBootstrapEntriesAndBrokersNeverTried() {
        let json = #"{"name":"rdkafka#producer-1","brokers":{"localhost:9/bootstrap":{"name":"localhost:9/bootstrap","nodeid":-1,"state":"UP"},"#
            + #""127.0.0.1:40001/1":{"nodeid":1,"state":"UP"},"127.0.0.1:40002/2":{"nodeid":2,"state":"TRY_CONNECT"},"#
            + #""127.0.0.1:40003/3":{"nodeid":3,"state":"INIT"}}}"#
        #expect(BrokerStates.brokers(fromStatistics: Array(json.utf8)) == ["127.0.0.1:40001/1": "UP", "127.0.0.1:40002/2": "TRY_CONNECT"])
        #expect(BrokerStates.brokers(fromStatistics: Array("{".utf8)) == nil)
    }

    @Test func badPropertyNamesItsConfigKey() {
        do {
            _ = try RDKafkaProducer(configuration: KafkaClientConfiguration(
                bootstrapServers: "127.0.0.1:1", properties: [("no.such.property", "1", "KAFKA_NO_SUCH_PROPERTY")]))
            Issue.record("accepted an unknown librdkafka property")
        } catch let error as KafkaError {
            #expect(error.description.contains("KAFKA_NO_SUCH_PROPERTY"))
            #expect(error.description.contains("no.such.property"))
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func unreachableBrokerFailsTheStartupCheckNamingTheAddress() throws {
        let port = try TestCluster.freePort()
        let producer = try RDKafkaProducer(configuration: KafkaClientConfiguration(bootstrapServers: "127.0.0.1:\(port)"))
        defer { producer.close(flushTimeout: .milliseconds(10)) }
        do {
            try producer.checkReachable(timeout: .seconds(1))
            Issue.record("a closed port answered")
        } catch let error as KafkaError {
            #expect(error.description.contains("127.0.0.1:\(port)"))
        }
    }

    /// `messageTimeout` is librdkafka's `message.timeout.ms`: with every broker down, a message
    /// fails with `_MSG_TIMED_OUT` once it passes, long before librdkafka's 300 s default, so the
    /// caller waiting a little longer gets a report and knows the message cannot arrive later.
    @Test func aMessageFailsOnceItsMessageTimeoutPasses() throws {
        let kafka = try cluster()
        let producer = try RDKafkaProducer(configuration: KafkaClientConfiguration(bootstrapServers: kafka.bootstrapServers),
                                           messageTimeout: .seconds(1))
        defer { producer.close(flushTimeout: .milliseconds(100)) }
        try producer.checkReachable(timeout: .seconds(10))
        #expect(try producer.provisionTopics(["events"], timeout: .seconds(10)).isEmpty)
        kafka.setAllBrokers(up: false)
        let result = producer.send([KafkaMessage(topic: "events", key: [1], value: [2])], timeout: .seconds(30))[0]
        guard case .failed(let error) = result else {
            Issue.record("expected _MSG_TIMED_OUT, got \(result)")
            return
        }
        #expect(error.code.name == "_MSG_TIMED_OUT")
        #expect(!error.isPermanent)
    }

    /// With creation off, a missing topic is named with a permanent error and a message to it
    /// fails at once; with creation on it is created (on the mock cluster, which has no Admin API,
    /// by the metadata request that auto-creates it) and the message is delivered.
    @Test func missingTopicsAreNamedOrCreated() throws {
        let kafka = try cluster()
        let strict = try RDKafkaProducer(configuration: KafkaClientConfiguration(bootstrapServers: kafka.bootstrapServers),
                                         topicPolicy: KafkaTopicPolicy(create: false))
        defer { strict.close(flushTimeout: .milliseconds(100)) }
        let refused = try strict.provisionTopics(["events", "absent"], timeout: .seconds(10))
        #expect(Array(refused.keys) == ["absent"])
        #expect(refused["absent"]?.code.name == "UNKNOWN_TOPIC_OR_PART")
        #expect(refused["absent"]?.isPermanent == true)
        #expect(refused["absent"]?.message.contains("KAFKA_TOPIC_CREATE=never") == true)
        let failed = strict.send([KafkaMessage(topic: "absent", key: [1], value: [2]), KafkaMessage(topic: "events", key: [1], value: [3])],
                                 timeout: .seconds(30))
        #expect(failed[0] == .failed(refused["absent"]!))
        guard case .delivered = failed[1] else {
            Issue.record("the message to the existing topic: \(failed[1])")
            return
        }

        let creating = try RDKafkaProducer(configuration: KafkaClientConfiguration(bootstrapServers: kafka.bootstrapServers))
        defer { creating.close(flushTimeout: .milliseconds(100)) }
        #expect(try creating.provisionTopics(["created-here"], timeout: .seconds(10)).isEmpty)
        guard case .delivered = creating.send([KafkaMessage(topic: "created-here", key: [1], value: [2])], timeout: .seconds(30))[0] else {
            Issue.record("not delivered to the created topic")
            return
        }
        #expect(try strict.provisionTopics(["created-here"], timeout: .seconds(10)).isEmpty, "the created topic is seen by another client")
    }
}
