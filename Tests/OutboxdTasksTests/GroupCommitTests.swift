import Foundation
import OutboxdCore
import OutboxdPostgres
import OutboxdTasks
import OutboxdTestSupport
import Testing

/// Group commit against the real database: shared transactions, one answer per request after
/// its commit, and an invalid row failing alone.
@Suite struct GroupCommitTests {
    func committer(_ database: TestDatabase, window: Duration, writers: Int = 1) -> (GroupCommitter, PostgresPool) {
        let pool = database.pool()
        var configuration = GroupCommitConfiguration()
        configuration.window = window
        configuration.writers = writers
        let committer = GroupCommitter(configuration: configuration, store: TaskStore(pool: pool, topic: "task-events"))
        committer.run()
        return (committer, pool)
    }

    /// Tasks created concurrently share transactions (the rows' xmin), and each task has its own
    /// task.created event whose id and payload match what its request was told.
    @Test func concurrentCreatesShareTransactions() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let (committer, pool) = committer(database, window: .milliseconds(200))
        defer { pool.close() }
        let results = Collected<(task: TaskRecord, eventID: UUID)>()
        concurrently(20) { n in
            if let created = try? committer.create(NewTask(title: "grouped \(n)", description: n % 2 == 0 ? nil : "odd")) { results.add(created) }
        }
        committer.stop()
        #expect(results.all.count == 20)
        let connection = try database.connect()
        let transactions = try connection.query("SELECT count(DISTINCT xmin::text)::int AS n FROM tasks").first?.require(Int.self, "n")
        #expect(try #require(transactions) < 20)
        for created in results.all {
            let row = try #require(try connection.query("""
                SELECT o.event_type, o.payload->'task'->>'title' AS title, o.payload->'task'->>'description' AS description,
                       o.payload->>'event_id' AS payload_event, t.xmin::text = o.xmin::text AS same_transaction
                FROM outbox o JOIN tasks t ON t.id::text = o.aggregate_id WHERE o.event_id = $1
                """, [created.eventID]).first)
            #expect(try row.require(String.self, "event_type") == "task.created")
            #expect(try row.require(String.self, "title") == created.task.title)
            #expect(try row.decode(String.self, "description") == created.task.description)
            #expect(try row.require(String.self, "payload_event") == created.eventID.lowercaseString)
            #expect(try row.require(Bool.self, "same_transaction"))
        }
        #expect(try database.count("outbox") == 20)
    }

    /// A row the database refuses (here a title over the CHECK limit, which validation would
    /// normally stop) fails its own request; the others of the batch are written.
    @Test func anInvalidRowFailsAlone() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let (committer, pool) = committer(database, window: .milliseconds(200))
        defer { pool.close() }
        let failures = Collected<String>()
        let created = Collected<UUID>()
        concurrently(10) { n in
            let title = n == 3 ? String(repeating: "x", count: 500) : "ok \(n)"
            do { created.add(try committer.create(NewTask(title: title)).task.id) } catch { failures.add("\(error)") }
        }
        committer.stop()
        #expect(failures.all.count == 1)
        #expect(failures.all.first?.contains("23514") == true)
        #expect(created.all.count == 9)
        #expect(try database.count("tasks") == 9)
        #expect(try database.count("outbox") == 9)
        #expect(try database.count("tasks", where: "char_length(title) > 200") == 0)
    }

    /// After stop, creates are written one by one instead of waiting for a writer.
    @Test func createsAfterStopAreWrittenAlone() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let (committer, pool) = committer(database, window: .zero, writers: 2)
        defer { pool.close() }
        _ = try committer.create(NewTask(title: "before"))
        committer.stop()
        let after = try committer.create(NewTask(title: "after"))
        #expect(try database.count("tasks", where: "id = $1", [after.task.id]) == 1)
        #expect(try database.count("outbox", where: "event_id = $1", [after.eventID]) == 1)
    }
}
