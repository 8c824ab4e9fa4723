import Foundation
import OutboxdPostgres
import OutboxdTestSupport
import Testing
@testable import OutboxdConsumers
@testable import OutboxdOutbox
@testable import OutboxdTasks

/// The statements that compose `OutboxWriter.insertNewEvents` stay one statement with one plan:
/// PostgreSQL inlines their `new_events` CTE into the outbox insert (no CTE of its own, no
/// materialised scan), so they run as the inserts they replaced (bench/api.sh compares them with
/// pgbench). A volatile function or a second reference in `new_events` would make it a CTE scan.
@Suite struct OutboxWriterTests {
    static let writers: [PostgresStatement] = [TaskStore.insert, TaskStore.insertAll, TaskStore.update, TaskStore.delete,
                                               ReminderScheduler.fire]

    @Test func theEventsOfEveryWriteAreInlinedIntoTheOutboxInsert() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        defer { connection.close() }
        for (index, statement) in Self.writers.enumerated() {
            #expect(statement.sql.contains(OutboxWriter.insertNewEvents), "\(statement.name)")
            let parameters = Set(statement.sql.matches(of: /\$([0-9]+)/).compactMap { Int($0.1) }).max() ?? 0
            try connection.executeScript("PREPARE writer_\(index) AS " + statement.sql)
            let plan = try connection.query("EXPLAIN EXECUTE writer_\(index)(\(Array(repeating: "NULL", count: parameters).joined(separator: ", ")))")
                .map { try $0.require(String.self, "QUERY PLAN") }.joined(separator: "\n")
            #expect(plan.contains("Insert on outbox"), "\(statement.name):\n\(plan)")
            #expect(!plan.contains("new_events"), "\(statement.name) materialises its events:\n\(plan)")
        }
    }
}
