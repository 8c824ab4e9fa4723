import OutboxdPostgres
import OutboxdTestSupport
import Testing
@testable import OutboxdConsumers

/// The scheduler's statements under statistics that take `reminders` for empty (analyzed when
/// its pages held no live row): each run cancels or fires at most its batch, its rows chosen once.
@Suite struct ReminderPlanTests {
    @Test(arguments: ["force_generic_plan", "force_custom_plan"])
    func aRunCancelsAtMostItsBatch(planCacheMode: String) throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        defer { connection.close() }
        try connection.executeScript("""
            INSERT INTO reminders (task_id, due_at, remind_at, updated_by)
            SELECT gen_random_uuid(), now(), now() - interval '1 minute', gen_random_uuid() FROM generate_series(1, 20000);
            DELETE FROM reminders;
            ANALYZE reminders, tasks;
            INSERT INTO reminders (task_id, due_at, remind_at, updated_by)
            SELECT gen_random_uuid(), now(), now() - interval '1 minute', gen_random_uuid() FROM generate_series(1, 3000)
            """)
        try connection.query("SELECT set_config('plan_cache_mode', $1, false)", [planCacheMode])
        // Reminders of tasks that do not exist: every one is stale.
        let cancelled = try connection.query(ReminderScheduler.cancelStale, [ReminderScheduler.batch]).affectedRows
        #expect(cancelled == ReminderScheduler.batch)
        #expect(try database.count("reminders", where: "status = 'cancelled'") == ReminderScheduler.batch)
    }

    @Test(arguments: ["force_generic_plan", "force_custom_plan"])
    func aRunFiresAtMostItsBatch(planCacheMode: String) throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        defer { connection.close() }
        try connection.executeScript("""
            INSERT INTO tasks (title, due_at) SELECT 'a', now() FROM generate_series(1, 20000);
            INSERT INTO reminders (task_id, due_at, remind_at, updated_by)
            SELECT id, due_at, now() - interval '1 minute', gen_random_uuid() FROM tasks;
            DELETE FROM reminders;
            DELETE FROM tasks;
            ANALYZE reminders, tasks;
            INSERT INTO tasks (title, due_at) SELECT 'b', now() FROM generate_series(1, 3000);
            INSERT INTO reminders (task_id, due_at, remind_at, updated_by)
            SELECT id, due_at, now() - interval '1 minute', gen_random_uuid() FROM tasks
            """)
        try connection.query("SELECT set_config('plan_cache_mode', $1, false)", [planCacheMode])
        let fired = try connection.query(ReminderScheduler.fire, ["task-events", ReminderScheduler.batch]).count
        #expect(fired == ReminderScheduler.batch)
        #expect(try database.count("reminders", where: "status = 'fired'") == ReminderScheduler.batch)
        #expect(try database.count("outbox", where: "event_type = 'task.reminder_due'") == ReminderScheduler.batch)
    }
}
