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

    /// A due reminder whose task another writer moved with SQL to `due_at = 'infinity'` (or to
    /// another time, announced by no event) is cancelled, not left scheduled and due for ever; one
    /// whose task still has its time fires.
    @Test func aReminderOfATaskMovedBySQLIsCancelled() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let store = TaskStore(pool: database.pool(size: 1), topic: "task-events")
        let due = Timestamp(microsecondsSinceEpoch: Timestamp.now().microsecondsSinceEpoch + 600_000_000)
        var ids: [UUID] = []
        for title in ["moved to infinity", "moved by SQL", "kept"] {
            guard case .created(let task, _) = try store.create(NewTask(title: title, dueAt: due), idempotencyKey: nil) else { throw HTTPTestError("not created") }
            ids.append(task.id)
        }
        let connection = try database.connect()
        for id in ids {
            try connection.query("""
                INSERT INTO reminders (task_id, due_at, remind_at, updated_by) VALUES ($1, $2::timestamptz, now() - interval '1 second', gen_random_uuid())
                """, [id, due])
        }
        // As a writer before migration 0009's checks (they refuse new infinite times).
        try connection.transaction {
            try connection.executeScript("ALTER TABLE tasks DROP CONSTRAINT tasks_due_at_in_range")
            try connection.query("UPDATE tasks SET due_at = 'infinity' WHERE id = $1", [ids[0]])
            try connection.query("UPDATE tasks SET due_at = due_at + interval '1 day' WHERE id = $1", [ids[1]])
            try connection.executeScript("""
                ALTER TABLE tasks ADD CONSTRAINT tasks_due_at_in_range
                    CHECK (due_at >= '0001-01-01 00:00:00+00' AND due_at < '10000-01-01 00:00:00+00') NOT VALID
                """)
        }
        #expect(try ReminderScheduler(topic: "task-events").fireDue(on: connection) == 1)
        let states = try connection.query("SELECT task_id, status FROM reminders").map { (try $0.require(UUID.self, "task_id"), try $0.require(String.self, "status")) }
        let byTask = Dictionary(uniqueKeysWithValues: states)
        #expect(byTask[ids[0]] == "cancelled")
        #expect(byTask[ids[1]] == "cancelled")
        #expect(byTask[ids[2]] == "fired")
        #expect(try database.count("outbox", where: "event_type = 'task.reminder_due' AND aggregate_id = $1", [ids[2].lowercaseString]) == 1)
        #expect(try database.count("outbox", where: "event_type = 'task.reminder_due'") == 1)
    }
}
