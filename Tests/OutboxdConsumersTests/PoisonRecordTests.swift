import Foundation
@testable import OutboxdConsumers
import OutboxdCore
@testable import OutboxdKafka
import OutboxdPostgres
import OutboxdTestSupport
import Testing

/// A handler that refuses every event with a long error.
struct LongWindedHandler: EventHandler {
    let name = "long-winded"
    let error: String

    func statements(applying events: [TaskEvent]) throws -> [PipelinedStatement] {
        throw HTTPTestError(error)
    }
}

func allDelivered(_ results: [DeliveryResult]) -> Bool {
    results.allSatisfy { if case .delivered = $0 { true } else { false } }
}

/// Issue #28: no one record stops a partition, and what it is made of breaks nothing.
@Suite struct PoisonRecordTests {
    /// A 1 MiB record another producer wrote to the events topic is not an event, and its dead
    /// letter is larger than the dead-letter producer's `message.max.bytes` (Kafka refuses it for
    /// good): it is kept whole in `consumer_dead_letters` and the consumer moves on, so the next
    /// event of the same partition is applied.
    @Test func aRecordKafkaRefusesAsADeadLetterIsKeptInTheTableAndItsPartitionFlows() throws {
        let fixture = try ConsumerFixture()
        let big = try RDKafkaProducer(configuration: KafkaClientConfiguration(
            bootstrapServers: fixture.kafka.bootstrapServers, properties: [("message.max.bytes", "2000000", "test")]))
        defer { big.close(flushTimeout: .seconds(1)) }
        let value = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 % 251) }
        let huge = KafkaMessage(topic: fixture.topic, key: Array("huge".utf8), value: value,
                                headers: [("ce_id", Array(UUID().lowercaseString.utf8)), ("origin", [0, 1, 2])], partition: 1)
        let results = big.send([huge], timeout: .seconds(30))
        guard case .delivered(_, let offset, _) = results[0] else { throw HTTPTestError("the 1 MiB record was not delivered: \(results)") }
        let next = SyntheticEvent("task.created", task: UUID())
        #expect(allDelivered(fixture.producer.send([next.message(topic: fixture.topic, partition: 1)], timeout: .seconds(10))))

        let runner = fixture.start(AuditHandler())
        try waitUntil("the next event of the partition is applied") {
            try fixture.count("audit_log", where: "event_id = $1", [next.eventID]) == 1
        }
        let row = try #require(try fixture.database.connect().query("""
            SELECT consumer, topic, kafka_partition, kafka_offset, convert_from(key, 'UTF8') AS key, value = $1::bytea AS same_value,
                   header_names, header_values[2] = '\\x000102'::bytea AS same_header, attempts, reason, dlq_error
            FROM consumer_dead_letters
            """, [PostgresBytes(value)]).first)
        #expect(try row.require(String.self, "consumer") == "audit")
        #expect(try row.require(String.self, "topic") == fixture.topic)
        #expect(try row.require(Int.self, "kafka_partition") == 1)
        #expect(try row.require(Int64.self, "kafka_offset") == offset)
        #expect(try row.require(String.self, "key") == "huge")
        #expect(try row.require(Bool.self, "same_value"), "the record is kept whole")
        #expect(try row.require(String.self, "header_names") == "{ce_id,origin}")
        #expect(try row.require(Bool.self, "same_header"))
        #expect(try row.require(Int.self, "attempts") == 0)
        #expect(try row.require(String.self, "reason").contains("not JSON"))
        #expect(try row.require(String.self, "dlq_error").contains("MSG_SIZE_TOO_LARGE"))
        #expect(try fixture.count("consumer_dead_letters") == 1)
        #expect(runner.progress.deadLettersKept == 1)
        #expect(runner.progress.deadLettered == 0)
        #expect(runner.progress.deadLetterFailures == 0)
        #expect(runner.stalls.isEmpty)
    }

    /// A dead letter that would pass the producer's `message.max.bytes` only because of the
    /// headers the consumer adds is written to `<topic>.dlq` with its `dlq_error` shortened.
    @Test func aLetterTooLargeOnlyForItsAddedHeadersIsWrittenWithItsErrorShortened() throws {
        let fixture = try ConsumerFixture()
        var event = SyntheticEvent("task.created", task: UUID())
        event.title = String(repeating: "t", count: 1500)
        let message = event.message(topic: fixture.topic)
        // What librdkafka counts against message.max.bytes: 36 bytes of framing, and each header's name and value with 10 bytes of lengths.
        let size = 36 + message.key.count + message.value.count + message.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.count + 10 }
        let narrow = try RDKafkaProducer(configuration: KafkaClientConfiguration(
            bootstrapServers: fixture.kafka.bootstrapServers, properties: [("message.max.bytes", "\(size + 300)", "test")]))
        defer { narrow.close(flushTimeout: .seconds(1)) }
        #expect(allDelivered(fixture.producer.send([message], timeout: .seconds(10))))
        let error = String(repeating: "the handler explains at length, ", count: 40)
        let runner = fixture.start(LongWindedHandler(error: error), deadLetters: narrow)
        let letter = try #require(try fixture.deadLetters(1).first)
        let written = try #require(letter.header("dlq_error"))
        #expect(!written.isEmpty)
        #expect(written.utf8.count < 300)
        #expect(error.hasPrefix(written))
        #expect(letter.value == message.value)
        #expect(letter.header("dlq_consumer") == "long-winded")
        #expect(letter.header("dlq_attempts") == "\(fixture.configuration.maxAttempts)")
        try waitUntil("counted") { runner.progress.deadLettered == 1 }
        #expect(runner.progress.deadLettersKept == 0)
        #expect(try fixture.count("consumer_dead_letters") == 0)
    }

    /// A tombstone (null value) on the events topic is no event: it is skipped, counted and
    /// logged as such, never dead-lettered; an empty (non-null) value is not a tombstone and is
    /// dead-lettered as not JSON. The partition flows on.
    @Test func aTombstoneIsSkippedAndCountedAndAnEmptyValueIsDeadLettered() throws {
        let capture = LogCapture()
        defer { capture.close() }
        let fixture = try ConsumerFixture()
        var tombstone = KafkaMessage(topic: fixture.topic, key: Array("gone".utf8), value: [], partition: 2)
        tombstone.isTombstone = true
        let empty = KafkaMessage(topic: fixture.topic, key: Array("empty".utf8), value: [], headers: [("ce_id", Array(UUID().lowercaseString.utf8))], partition: 2)
        let next = SyntheticEvent("task.created", task: UUID())
        #expect(allDelivered(fixture.producer.send([tombstone, empty, next.message(topic: fixture.topic, partition: 2)], timeout: .seconds(10))))
        let runner = fixture.start(AuditHandler())
        try waitUntil("the event after them is applied") { try fixture.count("audit_log", where: "event_id = $1", [next.eventID]) == 1 }
        #expect(runner.progress.tombstones == 1)
        #expect(runner.progress.deadLettered == 1)
        let letter = try #require(try fixture.deadLetters(1).first)
        #expect(String(decoding: letter.key, as: UTF8.self) == "empty")
        #expect(letter.header("dlq_error")?.contains("not JSON") == true)
        #expect(!letter.isTombstone)
        #expect(capture.lines.contains { $0.contains("tombstone (null value) skipped") && $0.contains("source=\(fixture.topic)/2/") })
        do {
            _ = try TaskEvent(record: KafkaRecord(topic: fixture.topic, partition: 0, offset: 0, key: [], value: [], headers: [], isTombstone: true))
            Issue.record("a tombstone was read as a task event")
        } catch {
            #expect(error.description == "tombstone (null value)")
        }
    }

    /// A task whose title (another producer's JSON: `\u0000`) holds NUL is applied by every
    /// consumer with U+FFFD in its place, in the same batch as other events: no failed attempt,
    /// no dead letter (PostgreSQL text and jsonb cannot hold NUL; it used to fail the batch with
    /// `malformed array literal` and `unsupported Unicode escape sequence`).
    @Test func aTitleWithNULIsAppliedByEveryConsumerWithTheReplacementCharacter() throws {
        let fixture = try ConsumerFixture()
        let dueAt = Timestamp(microsecondsSinceEpoch: Timestamp.now().microsecondsSinceEpoch + 3_600_000_000)
        var nul = SyntheticEvent("task.created", task: UUID(), dueAt: dueAt)
        nul.title = #"before\u0000after"#
        let plain = SyntheticEvent("task.created", task: UUID(), dueAt: dueAt)
        #expect(allDelivered(fixture.producer.send([nul, plain].map { $0.message(topic: fixture.topic, partition: 0) }, timeout: .seconds(10))))
        let runners = [fixture.start(AuditHandler()), fixture.start(NotificationHandler(recipient: "ops@example.test")),
                       fixture.start(ReminderHandler(lead: .seconds(60)))]
        try waitUntil("every consumer applied both") { runners.allSatisfy { $0.progress.applied == 2 } }
        for runner in runners {
            #expect(runner.progress.failures == 0, "\(runner.handler.name)")
            #expect(runner.progress.deadLettered + runner.progress.deadLettersKept == 0, "\(runner.handler.name)")
        }
        let connection = try fixture.database.connect()
        let title = try connection.query("SELECT payload->'task'->>'title' AS title FROM audit_log WHERE event_id = $1", [nul.eventID]).first?
            .require(String.self, "title")
        #expect(title == "before\u{FFFD}after")
        let message = try connection.query("SELECT message FROM notifications WHERE event_id = $1", [nul.eventID]).first?.require(String.self, "message")
        #expect(message == "Task created: before\u{FFFD}after")
        #expect(try fixture.count("reminders", where: "task_id = $1 AND status = 'scheduled'", [nul.taskID]) == 1)
        #expect(try fixture.count("audit_log", where: "event_id = $1 AND payload->'task'->>'title' = 'synthetic'", [plain.eventID]) == 1)
    }

    /// A NUL in the `ce_type` header or in a key of the payload is replaced too; a payload whose
    /// text only looks like it holds one (an escaped backslash before `u0000`) is kept as it was.
    @Test func nulInTheTypeOrAKeyIsReplacedAndAnEscapedBackslashIsNot() throws {
        let id = UUID(), task = UUID()
        let payload = #"{"occurred_at":"2024-01-01T00:00:00Z","task":{"id":"\#(task.lowercaseString)","k\u0000":"v","path":"C:\\u0000"}}"#
        let record = KafkaRecord(topic: "t", partition: 0, offset: 0, key: [], value: Array(payload.utf8),
                                 headers: [("ce_id", Array(id.lowercaseString.utf8)), ("ce_type", Array("task.created\0".utf8))])
        let event = try TaskEvent(record: record)
        #expect(event.replacedNUL)
        #expect(event.type == "task.created\u{FFFD}")
        #expect(event.task["k\u{FFFD}"]?.stringValue == "v")
        #expect(event.task["path"]?.stringValue == #"C:\u0000"#)
        #expect(!event.payloadText.contains(#"k\u0000"#))
        let kept = #"{"occurred_at":"2024-01-01T00:00:00Z","task":{"id":"\#(task.lowercaseString)","path":"C:\\u0000"}}"#
        let plain = try TaskEvent(record: KafkaRecord(topic: "t", partition: 0, offset: 0, key: [], value: Array(kept.utf8),
                                                      headers: [("ce_id", Array(id.lowercaseString.utf8)), ("ce_type", Array("task.created".utf8))]))
        #expect(!plain.replacedNUL)
        #expect(plain.payloadText == kept)
    }

    /// An event whose `occurred_at` is an hour ahead (a clock ahead, another producer's time)
    /// is measured as 0 s: the exported `_sum` never goes negative.
    @Test func anEventFromTheFutureNeverDrivesTheEffectLatencyNegative() throws {
        let fixture = try ConsumerFixture()
        let runner = fixture.runner(AuditHandler())
        var future = SyntheticEvent("task.created", task: UUID())
        future.occurredAt = Timestamp(microsecondsSinceEpoch: Timestamp.now().microsecondsSinceEpoch + 3_600_000_000)
        try runner.apply([try TaskEvent(record: future.record(topic: fixture.topic))], on: try fixture.database.connect())
        let registry = MetricsRegistry()
        registry.register(runner.metrics.families)
        let scrape = try PrometheusScrape(registry.render())
        #expect(scrape.value("outboxd_consumer_effect_latency_seconds_count", ["consumer": "audit"]) == 1)
        let sum = try #require(scrape.value("outboxd_consumer_effect_latency_seconds_sum", ["consumer": "audit"]))
        #expect(sum >= 0 && sum < 1, "\(sum)")
        #expect(scrape.value("outboxd_consumer_effect_latency_seconds_bucket", ["consumer": "audit", "le": "0.001"]) == 1)
    }
}
