import Foundation
@testable import OutboxdConsumers
import OutboxdCore
import OutboxdKafka
import OutboxdPostgres
import OutboxdTestSupport
import Testing

/// A handler that refuses one event (always) and notes every batch it is asked to apply.
struct EventRefusingHandler: EventHandler {
    let name = "refusing"
    let poison: UUID
    let batches = Collected<[UUID]>()

    func statements(applying events: [TaskEvent]) throws -> [PipelinedStatement] {
        batches.add(events.map(\.eventID))
        if events.contains(where: { $0.eventID == poison }) { throw HTTPTestError("handler refuses event \(poison)") }
        return try AuditHandler().statements(applying: events)
    }
}

@Suite struct BatchTests {
    /// A poll batch whose events were partly applied before (their inbox rows exist), and which
    /// holds one event twice, applies only the new ones, each once, all in one transaction; the
    /// same batch again changes nothing.
    @Test func aBatchWithEventsSeenBeforeAppliesOnlyTheNewOnes() throws {
        let fixture = try ConsumerFixture()
        let runner = fixture.runner(AuditHandler())
        let events = try (0..<6).map { _ in try TaskEvent(record: SyntheticEvent("task.created", task: UUID()).record(topic: fixture.topic)) }
        let connection = try fixture.database.connect()
        try connection.query("INSERT INTO inbox (consumer, event_id) SELECT 'audit', unnest($1::uuid[])", [[events[1].eventID, events[4].eventID]])

        try runner.apply(events + [events[2]], on: connection)
        let new = [events[0], events[2], events[3], events[5]].map(\.eventID)
        #expect(try connection.query("SELECT event_id FROM audit_log ORDER BY id").map { try $0.require(UUID.self, "event_id") } == new)
        #expect(try fixture.count("inbox", where: "consumer = 'audit'") == 6)
        let transactions = try connection.query("""
            SELECT count(DISTINCT x) AS n FROM (SELECT xmin::text AS x FROM audit_log
                                                UNION ALL SELECT xmin::text FROM inbox WHERE event_id = ANY($1)) t
            """, [new])
        #expect(try transactions.first?.require(Int.self, "n") == 1, "the new events' inbox rows and effects are one transaction")
        #expect(runner.progress.applied == 4)
        #expect(runner.progress.duplicates == 3)

        try runner.apply(events, on: connection)
        #expect(try fixture.count("audit_log") == 4)
        #expect(runner.progress.applied == 4)
        #expect(runner.progress.duplicates == 9)
    }

    /// Reminders applied a batch at a time end as they would one event at a time: per task the
    /// latest event wins, in order (a cancel after the last schedule cancels and names the first
    /// such event; a fired reminder stays fired only if no schedule of the batch moved its time).
    @Test func remindersOfABatchEndAsIfAppliedOneByOne() throws {
        let fixture = try ConsumerFixture()
        let runner = fixture.runner(ReminderHandler(lead: .seconds(60)))
        let connection = try fixture.database.connect()
        let hour = Int64(3_600_000_000), now = Timestamp.now().microsecondsSinceEpoch
        let d0 = Timestamp(microsecondsSinceEpoch: now + hour), d1 = Timestamp(microsecondsSinceEpoch: now + 2 * hour),
            d2 = Timestamp(microsecondsSinceEpoch: now + 3 * hour)
        typealias Step = (type: String, status: String, dueAt: Timestamp?)
        /// The reminder before (none when nil), the task's events, and the reminder after: its
        /// status, due time and the step that last changed it (nil: no reminder).
        let scenarios: [(name: String, before: (Timestamp, String)?, steps: [Step], after: (String, Timestamp, Int)?)] = [
            ("created, then completed", nil, [("task.created", "todo", d1), ("task.completed", "done", d1)], ("cancelled", d1, 0 + 1)),
            ("fired, moved away and back", (d0, "fired"), [("task.updated", "todo", d1), ("task.updated", "todo", d0)], ("scheduled", d0, 1)),
            ("fired, the same time twice", (d0, "fired"), [("task.updated", "todo", d0), ("task.updated", "todo", d0)], ("fired", d0, 1)),
            ("completed, then deleted", (d0, "scheduled"), [("task.completed", "done", d0), ("task.deleted", "done", d0)], ("cancelled", d0, 0)),
            ("moved three times", nil, [("task.created", "todo", d0), ("task.updated", "todo", d1), ("task.updated", "todo", d2)], ("scheduled", d2, 2)),
            ("time removed, then set again", (d0, "scheduled"), [("task.updated", "todo", nil), ("task.updated", "todo", d0)], ("scheduled", d0, 1)),
            ("fired, moved, deleted", (d0, "fired"), [("task.updated", "todo", d1), ("task.deleted", "todo", d1)], ("cancelled", d1, 1)),
            ("fired, time removed, set again", (d0, "fired"), [("task.updated", "todo", nil), ("task.updated", "todo", d0)], ("fired", d0, 1)),
            ("never due", nil, [("task.created", "todo", nil), ("task.updated", "todo", nil)], nil),
        ]
        /// Per scenario, a task whose events are applied one at a time and one whose events go in one batch with all the others.
        var single: [(task: UUID, events: [TaskEvent])] = [], batched: [(task: UUID, events: [TaskEvent])] = []
        for scenario in scenarios {
            for copy in 0..<2 {
                let task = UUID()
                if let (dueAt, status) = scenario.before {
                    try connection.query("INSERT INTO reminders (task_id, due_at, remind_at, status, updated_by) VALUES ($1, $2::timestamptz, $2::timestamptz, $3, $4)",
                                         [task, dueAt, status, UUID()])
                }
                let events = try scenario.steps.map { try TaskEvent(record: SyntheticEvent($0.type, task: task, status: $0.status, dueAt: $0.dueAt).record(topic: fixture.topic)) }
                if copy == 0 { single.append((task, events)) } else { batched.append((task, events)) }
            }
        }
        for (_, events) in single { for event in events { try runner.apply([event], on: connection) } }
        let longest = scenarios.map(\.steps.count).max() ?? 0
        let interleaved = (0..<longest).flatMap { step in batched.compactMap { step < $0.events.count ? $0.events[step] : nil } }
        try runner.apply(interleaved, on: connection)
        #expect(runner.progress.applied == 2 * scenarios.map(\.steps.count).reduce(0, +))

        for (index, scenario) in scenarios.enumerated() {
            for (label, copy) in [("one by one", single[index]), ("batched", batched[index])] {
                let row = try connection.query("SELECT status, due_at = $2::timestamptz AS at_due, updated_by FROM reminders WHERE task_id = $1",
                                               [copy.task, scenario.after?.1 ?? d0]).first
                guard let after = scenario.after else {
                    #expect(row == nil, "\(scenario.name), \(label): no reminder")
                    continue
                }
                let found = try #require(row, "\(scenario.name), \(label): a reminder")
                #expect(try found.require(String.self, "status") == after.0, "\(scenario.name), \(label)")
                #expect(try found.require(Bool.self, "at_due"), "\(scenario.name), \(label): due time")
                #expect(try found.require(UUID.self, "updated_by") == copy.events[after.2].eventID, "\(scenario.name), \(label): updated_by")
            }
        }
    }

    /// A poison event in the middle of a batch: the batch falls back to one by one, so the events
    /// before and after it are applied once each and only it is retried and dead-lettered.
    @Test func aPoisonEventInTheMiddleOfABatchIsTheOnlyOneDeadLettered() throws {
        let fixture = try ConsumerFixture()
        let task = UUID() // one key: one partition, read in one batch
        let events = (0..<9).map { SyntheticEvent($0 == 0 ? "task.created" : "task.updated", task: task) }
        let poison = events[4].eventID
        #expect(fixture.producer.send(events.map { $0.message(topic: fixture.topic) }, timeout: .seconds(10))
            .allSatisfy { if case .delivered = $0 { true } else { false } })
        let handler = EventRefusingHandler(poison: poison)
        let runner = fixture.start(handler)
        let others = events.map(\.eventID).filter { $0 != poison }
        try waitUntil("the other eight applied and the poison dead-lettered") {
            try fixture.count("audit_log") == 8 && runner.progress.deadLettered == 1
        }
        #expect(handler.batches.all.contains { $0.count > 1 && $0.contains(poison) && $0.first != poison && $0.last != poison },
                "the poison was in the middle of a batch: \(handler.batches.all.map(\.count))")
        #expect(Set(try fixture.database.connect().query("SELECT event_id FROM audit_log").map { try $0.require(UUID.self, "event_id") }) == Set(others))
        #expect(try fixture.count("inbox", where: "consumer = 'refusing'") == 8)
        #expect(runner.progress.applied == 8)
        #expect(runner.progress.duplicates == 0)
        #expect(runner.progress.failures == fixture.configuration.maxAttempts)
        let letters = try fixture.deadLetters(1)
        #expect(letters.map { $0.header("ce_id") } == [poison.lowercaseString])
        #expect(letters.first?.header("dlq_attempts") == "\(fixture.configuration.maxAttempts)")
    }

    /// Each applied event's debug line carries the trace id of its `traceparent` header; a
    /// malformed one is left out without a warning; each applied event is measured once.
    @Test func appliedEventsLogTheTraceIDOfTheirTraceparent() throws {
        let capture = LogCapture()
        defer { capture.close() }
        var settings = Logger.Settings()
        settings.minimum = .debug
        Logger.configure(settings)
        defer { Logger.configure(Logger.Settings()) }
        let fixture = try ConsumerFixture()
        let traced = SyntheticEvent("task.created", task: UUID(), headers: [("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")])
        let malformed = [
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "not a traceparent",
        ].map { SyntheticEvent("task.created", task: UUID(), headers: [("traceparent", $0)]) }
        let untraced = SyntheticEvent("task.created", task: UUID())
        let all = [traced, untraced] + malformed
        #expect(fixture.producer.send(all.map { $0.message(topic: fixture.topic) }, timeout: .seconds(10))
            .allSatisfy { if case .delivered = $0 { true } else { false } })
        let runner = fixture.start(AuditHandler())
        try waitUntil("all applied") { runner.progress.applied == all.count }
        let applied = capture.lines.filter { $0.contains("consumer.audit: event applied") }
        func lines(of event: SyntheticEvent) -> [String] { applied.filter { $0.contains("event_id=\(event.eventID.lowercaseString)") } }
        #expect(lines(of: traced).count == 1)
        #expect(lines(of: traced).first?.contains("trace_id=4bf92f3577b34da6a3ce929d0e0e4736") == true)
        for event in [untraced] + malformed {
            #expect(lines(of: event).count == 1)
            #expect(lines(of: event).first?.contains("trace_id") == false, "\(event.extraHeaders.map { String(decoding: $0.value, as: UTF8.self) })")
        }
        // Other suites run audit consumers in this process at the same time: only lines about this
        // test's events, its consumer group or any traceparent count.
        let ours = all.map { $0.eventID.lowercaseString } + [fixture.configuration.groupPrefix]
        #expect(!capture.lines.contains { line in
            (line.contains(" warning ") || line.contains(" error "))
                && (line.contains("traceparent") || ours.contains { line.contains($0) })
        })
        #expect(runner.progress.deadLettered == 0)
        let latency = try #require(runner.metrics.effectLatency.snapshot(["audit"]))
        #expect(latency.count == all.count)
        #expect(latency.sum > 0)
    }
}
