import Foundation
import OutboxdConsumers
import OutboxdCore
import OutboxdKafka
import OutboxdOutbox
import OutboxdPostgres
import OutboxdTasks
import OutboxdTestSupport
import Synchronization
import Testing

/// A handler that fails for one task (while `refusing` is set), to exercise retries and the dead-letter topic.
struct FailingHandler: EventHandler {
    let name = "failing"
    let poisonTask: UUID
    var refusing = Switch(on: true)

    func statements(applying events: [TaskEvent]) throws -> [PipelinedStatement] {
        if events.contains(where: { $0.taskID == poisonTask }) && refusing.isOn { throw HTTPTestError("handler refuses task \(poisonTask)") }
        return events.isEmpty ? [] : [.prepared(Self.insert, [events.map(\.eventID), events.map(\.type), events.map(\.taskID)])]
    }

    static let insert = PostgresStatement(name: "failing_insert", sql: """
        INSERT INTO audit_log (event_id, event_type, task_id, payload, occurred_at)
        SELECT event_id, event_type, task_id, '{}', now() FROM unnest($1::uuid[], $2::text[], $3::uuid[]) AS e(event_id, event_type, task_id)
        """)
}

/// A flag shared between a test and a handler.
final class Switch: Sendable {
    private let value: Mutex<Bool>
    init(on: Bool) { value = Mutex(on) }
    var isOn: Bool { value.withLock { $0 } }
    func set(_ on: Bool) { value.withLock { $0 = on } }
}

@Suite struct ConsumerTests {
    /// Events published by the relay become audit rows with the event's id, type, task and time,
    /// and GET-able history order.
    @Test(arguments: RelaySource.allCases) func auditRecordsEveryEventOnce(_ source: RelaySource) throws {
        let fixture = try ConsumerFixture(source: source)
        fixture.start(AuditHandler())
        let task = try fixture.create("audited")
        _ = try fixture.store.update(task.id, TaskPatch(status: .done), ifVersion: nil)
        _ = try fixture.store.delete(task.id, ifVersion: nil)
        try waitUntil("four audit rows") { try fixture.count("audit_log") == 4 }
        let rows = try fixture.database.connect().query("""
            SELECT a.event_type, a.task_id, a.payload = o.payload AS same_payload, a.occurred_at = (o.payload->>'occurred_at')::timestamptz AS same_time
            FROM audit_log a JOIN outbox o ON o.event_id = a.event_id ORDER BY o.id
            """)
        #expect(try rows.map { try $0.require(String.self, "event_type") } == ["task.created", "task.updated", "task.completed", "task.deleted"])
        #expect(try rows.allSatisfy { try $0.require(UUID.self, "task_id") == task.id && $0.require(Bool.self, "same_payload") && $0.require(Bool.self, "same_time") })
        #expect(try fixture.count("inbox", where: "consumer = 'audit'") == 4)
    }

    /// The same event produced a second time by hand (as a relay re-send would) changes nothing.
    @Test func aDuplicateEventHasOneEffect() throws {
        let fixture = try ConsumerFixture()
        let runner = fixture.start(AuditHandler())
        _ = try fixture.create("once")
        try waitUntil("the audit row") { try fixture.count("audit_log") == 1 }
        let original = try #require(try RDKafkaConsumer(configuration: fixture.kafkaConfiguration, groupID: "copy-\(UUID())", topics: [fixture.topic])
            .read(count: 1, timeout: .seconds(30)).first)
        let copy = KafkaMessage(topic: fixture.topic, key: original.key, value: original.value, headers: original.headers)
        guard case .delivered = fixture.producer.send([copy], timeout: .seconds(10))[0] else { throw HTTPTestError("copy not delivered") }
        try waitUntil("the duplicate is seen") { runner.progress.duplicates == 1 }
        #expect(try fixture.count("audit_log") == 1)
        #expect(try fixture.count("inbox") == 1)
        #expect(runner.progress.applied == 1)
    }

    /// Offsets are stored only after effects commit; a new consumer of the same group resumes
    /// after them, and one reading everything again (as after a crash before the offset commit)
    /// applies nothing twice.
    @Test(arguments: RelaySource.allCases) func readingEverythingAgainAppliesNothingTwice(_ source: RelaySource) throws {
        let fixture = try ConsumerFixture(source: source)
        let first = fixture.start(AuditHandler())
        for n in 0..<10 { _ = try fixture.create("replayed \(n)") }
        try waitUntil("ten audit rows") { try fixture.count("audit_log") == 10 }
        first.stop()
        var fresh = fixture.configuration
        fresh.groupPrefix = "test-fresh-\(UUID())-" // a group with no committed offsets: reads from the start
        let again = ConsumerRunner(handler: AuditHandler(), configuration: fresh, database: fixture.databaseConfiguration,
                                   kafka: fixture.kafkaConfiguration, topic: fixture.topic, deadLetters: fixture.producer)
        again.run()
        try waitUntil("all ten seen again") { again.progress.duplicates == 10 }
        again.stop()
        #expect(again.progress.applied == 0)
        #expect(try fixture.count("audit_log") == 10)

        let resumed = fixture.start(AuditHandler()) // the first group: its offsets were committed on close
        _ = try fixture.create("after restart")
        try waitUntil("the new event is applied") { resumed.progress.applied == 1 }
        #expect(resumed.progress.duplicates == 0)
        #expect(try fixture.count("audit_log") == 11)
    }

    /// A handler that keeps failing sends the event to the DLQ after maxAttempts, with the error and
    /// the original headers, and the next events are processed.
    @Test func aFailingEventGoesToTheDeadLetterTopicAndOthersFlow() throws {
        let fixture = try ConsumerFixture()
        let poison = try fixture.create("poison")
        let runner = fixture.start(FailingHandler(poisonTask: poison.id))
        let next = try fixture.create("next")
        try waitUntil("the next event is applied and the poison one dead-lettered") {
            try fixture.count("audit_log", where: "task_id = $1", [next.id]) == 1 && runner.progress.deadLettered == 1
        }
        #expect(runner.progress.failures == fixture.configuration.maxAttempts)
        #expect(try fixture.count("inbox", where: "consumer = 'failing'") == 1)
        let letter = try #require(try fixture.deadLetters(1).first)
        #expect(letter.header("dlq_consumer") == "failing")
        #expect(letter.header("dlq_attempts") == "\(fixture.configuration.maxAttempts)")
        #expect(letter.header("dlq_error")?.contains("refuses task") == true)
        #expect(letter.header("ce_type") == "task.created")
        #expect(String(decoding: letter.key, as: UTF8.self) == poison.id.lowercaseString)
    }

    /// A dead letter that cannot be written for now (here: the dead-letter producer's brokers do
    /// not answer, so each try times out, a retryable error) does not stall the consumer forever,
    /// lose the event or skip it: a few tries, a logged error and `deadLetterFailures`, then the
    /// record is rewound and tried again after a pause, while the consumer stays in its group and
    /// shows the partition stalled with the reason; once the handler accepts it, it is applied
    /// exactly once and the stall ends.
    @Test func aDeadLetterThatCannotBeWrittenIsRetriedNotSkipped() throws {
        let fixture = try ConsumerFixture()
        fixture.configuration.stallTimeout = .seconds(1)
        let before = try (0..<5).map { try fixture.create("before \($0)") }
        let poison = try fixture.create("poison", description: String(repeating: "p", count: 2000))
        let refusing = Switch(on: true)
        let unanswered = try RDKafkaProducer(configuration: KafkaClientConfiguration(bootstrapServers: "127.0.0.1:\(try TestCluster.freePort())"),
                                             messageTimeout: .seconds(1))
        defer { unanswered.close(flushTimeout: .milliseconds(100)) }
        let runner = fixture.start(FailingHandler(poisonTask: poison.id, refusing: refusing), deadLetters: unanswered)
        // The events before the poison may sit on other partitions, consumed at their own pace.
        try waitUntil("the letter failed in two rounds and the events before it are applied") {
            try runner.progress.deadLetterFailures >= 2 && fixture.count("audit_log", where: "task_id = ANY($1)", [before.map(\.id)]) == 5
        }
        #expect(try fixture.count("audit_log", where: "task_id = ANY($1)", [before.map(\.id)]) == 5)
        #expect(runner.progress.deadLettered == 0)
        #expect(runner.progress.deadLettersKept == 0, "a retryable failure is retried, not kept in the table")
        #expect(try fixture.count("consumer_dead_letters") == 0)
        #expect(try fixture.count("audit_log", where: "task_id = $1", [poison.id]) == 0)
        #expect(runner.progress.failures >= 2 * fixture.configuration.maxAttempts, "the handler was tried again after the rewind")
        let outbox = try #require(try fixture.database.connect().query("SELECT kafka_partition, kafka_offset FROM outbox WHERE aggregate_id = $1",
                                                                       [poison.id.lowercaseString]).first)
        let stall = try #require(runner.stalls.first)
        #expect(runner.stalls.count == 1)
        #expect(stall.partition == (try outbox.require(Int32.self, "kafka_partition")))
        #expect(stall.offset == (try outbox.require(Int64.self, "kafka_offset")))
        #expect(stall.reason.map { $0.hasPrefix("dead letter not written") || $0.hasPrefix("handler failed") } == true, "\(stall)")

        refusing.set(false)
        try waitUntil("the poison event is applied once the handler accepts it") {
            try fixture.count("audit_log", where: "task_id = $1", [poison.id]) == 1
        }
        let after = try fixture.create("after")
        try waitUntil("a later event flows") { try fixture.count("audit_log", where: "task_id = $1", [after.id]) == 1 }
        #expect(try fixture.count("audit_log", where: "task_id = $1", [poison.id]) == 1)
        #expect(try fixture.count("inbox", where: "consumer = 'failing'") == 7)
        try waitUntil("the stall is over") { runner.stalls.isEmpty }
    }

    /// A record that is not a task event (not JSON, no ce_id) goes to the DLQ at once.
    @Test func invalidRecordsAreDeadLetteredAtOnce() throws {
        let fixture = try ConsumerFixture()
        let runner = fixture.start(AuditHandler())
        let garbage = [
            KafkaMessage(topic: fixture.topic, key: Array("k".utf8), value: Array("{not json".utf8), headers: [("ce_id", Array(UUID().lowercaseString.utf8))]),
            KafkaMessage(topic: fixture.topic, key: Array("k".utf8), value: Array(#"{"task":{}}"#.utf8)),
        ]
        #expect(fixture.producer.send(garbage, timeout: .seconds(10)).allSatisfy { if case .delivered = $0 { true } else { false } })
        _ = try fixture.create("valid")
        try waitUntil("the valid event is applied") { try fixture.count("audit_log") == 1 }
        let letters = try fixture.deadLetters(2)
        #expect(letters.count == 2)
        #expect(Set(letters.compactMap { $0.header("dlq_attempts") }) == ["0"])
        #expect(letters.contains { $0.header("dlq_error")?.contains("not JSON") == true })
        #expect(letters.contains { $0.header("dlq_error")?.contains("ce_id") == true })
        #expect(runner.progress.failures == 0)
    }

    /// task.created and task.completed become notifications; the sender delivers them once.
    @Test func notificationsAreRecordedAndSent() throws {
        let fixture = try ConsumerFixture()
        fixture.start(NotificationHandler(recipient: "team@example.test"))
        let sink = RecordingSink()
        let sender = PeriodicWorker(job: NotificationSender(sink: sink), database: fixture.databaseConfiguration, interval: .milliseconds(20))
        sender.run()
        defer { sender.stop() }
        let task = try fixture.create("notify me")
        _ = try fixture.store.update(task.id, TaskPatch(title: "renamed"), ifVersion: nil)
        _ = try fixture.store.update(task.id, TaskPatch(status: .done), ifVersion: nil)
        try waitUntil("two notifications sent") { try fixture.count("notifications", where: "status = 'sent'") == 2 }
        #expect(sink.sent.all.sorted() == ["Task completed: renamed", "Task created: notify me"])
        #expect(try fixture.count("notifications", where: "recipient = 'team@example.test' AND task_id = $1", [task.id]) == 2)
    }
}

final class RecordingSink: NotificationSink {
    let sent = Collected<String>()
    func send(_ notification: OutboxdConsumers.Notification) throws { sent.add(notification.message) }
}
