import Foundation
import OutboxdConsumers
import OutboxdCore
import OutboxdKafka
import OutboxdPostgres
import OutboxdTasks
import OutboxdTestSupport
import Testing

@Suite struct ReminderTests {
    /// A task due soon gets a reminder at due_at - lead; two schedulers racing fire it once, and
    /// the task.reminder_due event goes through the outbox to Kafka.
    @Test func aReminderFiresExactlyOnceWithTwoSchedulers() throws {
        let fixture = try ConsumerFixture()
        fixture.start(ReminderHandler(lead: .seconds(3600)))
        let due = Timestamp(microsecondsSinceEpoch: Timestamp.now().microsecondsSinceEpoch + 1_800_000_000) // in 30 min: remind now
        let task = try fixture.create("remind me", dueAt: due)
        try waitUntil("the reminder is scheduled") { try fixture.count("reminders", where: "task_id = $1 AND status = 'scheduled'", [task.id]) == 1 }

        let fired = Collected<Int>()
        let database = fixture.databaseConfiguration, topic = fixture.topic
        concurrently(2) { _ in
            let scheduler = ReminderScheduler(topic: topic)
            guard let connection = try? database.connect() else { return }
            for _ in 0..<20 { if let n = try? scheduler.fireDue(on: connection) { fired.add(n) } }
        }
        #expect(fired.all.reduce(0, +) == 1)
        #expect(try fixture.count("reminders", where: "task_id = $1 AND status = 'fired'", [task.id]) == 1)
        #expect(try fixture.count("outbox", where: "event_type = 'task.reminder_due' AND aggregate_id = $1", [task.id.lowercaseString]) == 1)
        let eventID = try #require(try fixture.database.connect().query("SELECT event_id FROM reminders WHERE task_id = $1", [task.id]).first?.require(UUID.self, "event_id"))
        let records = try RDKafkaConsumer(configuration: fixture.kafkaConfiguration, groupID: "r-\(UUID())", topics: [fixture.topic])
            .readEvents([eventID.lowercaseString])
        #expect(records.contains { $0.header("ce_type") == "task.reminder_due" && $0.header("ce_id") == eventID.lowercaseString })
    }

    /// Updated (rescheduled), then deleted before its time: no reminder fires.
    @Test func aTaskUpdatedThenDeletedFiresNoReminder() throws {
        let fixture = try ConsumerFixture()
        let handler = fixture.start(ReminderHandler(lead: .seconds(60)))
        let inAnHour = Timestamp(microsecondsSinceEpoch: Timestamp.now().microsecondsSinceEpoch + 3_600_000_000)
        let task = try fixture.create("short-lived", dueAt: inAnHour)
        let later = Timestamp(microsecondsSinceEpoch: inAnHour.microsecondsSinceEpoch + 60_000_000)
        _ = try fixture.store.update(task.id, TaskPatch(dueAt: .some(later)), ifVersion: nil)
        try waitUntil("rescheduled") {
            try fixture.count("reminders", where: "task_id = $1 AND due_at = $2::timestamptz AND status = 'scheduled'", [task.id, later]) == 1
        }
        _ = try fixture.store.delete(task.id, ifVersion: nil)
        try waitUntil("the delete is applied") { handler.progress.applied == 3 }
        #expect(try fixture.count("reminders", where: "task_id = $1 AND status = 'cancelled'", [task.id]) == 1)
        // Even once its time has come, the scheduler does not fire it.
        try fixture.database.connect().query("UPDATE reminders SET remind_at = now() - interval '1 second' WHERE task_id = $1", [task.id])
        let scheduler = ReminderScheduler(topic: fixture.topic)
        #expect(try scheduler.fireDue(on: try fixture.databaseConfiguration.connect()) == 0)
        #expect(try fixture.count("outbox", where: "event_type = 'task.reminder_due'") == 0)
    }
}
