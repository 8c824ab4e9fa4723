import Foundation
import OutboxdTestSupport
import Testing
@testable import OutboxdPostgres

@Suite struct MigratorTests {
    let migrations = [
        Migration(version: 1, name: "one", sql: "CREATE TABLE one (n int); INSERT INTO one VALUES (1);"),
        Migration(version: 2, name: "two", sql: "CREATE TABLE two (n int);"),
    ]

    @Test func appliesPendingInOrderOnceAndRecordsChecksums() throws {
        let db = try TestDatabase.createEmpty()
        defer { db.drop() }
        let connection = try PQConnection(conninfo: db.url)
        let migrator = Migrator(migrations: migrations)
        #expect(try migrator.status(on: connection).pending.map(\.version) == [1, 2])
        #expect(try migrator.migrate(on: connection).map(\.version) == [1, 2])
        #expect(try migrator.migrate(on: connection).isEmpty)
        #expect(try migrator.status(on: connection).isCurrent)
        let rows = try connection.query("SELECT version, length(checksum) AS len FROM schema_migrations ORDER BY version")
        #expect(try rows.map { try $0.require(Int.self, "version") } == [1, 2])
        #expect(try rows.map { try $0.require(Int.self, "len") } == [64, 64])
        #expect(try connection.query("SELECT count(*) AS n FROM one").first?.require(Int.self, "n") == 1)
    }

    @Test func refusesWhenAnAppliedFileChanged() throws {
        let db = try TestDatabase.createEmpty()
        defer { db.drop() }
        let connection = try PQConnection(conninfo: db.url)
        try Migrator(migrations: migrations).migrate(on: connection)
        var edited = migrations
        edited[0] = Migration(version: 1, name: "one", sql: "CREATE TABLE one (n bigint);")
        edited.append(Migration(version: 3, name: "three", sql: "CREATE TABLE three (n int);"))
        let migrator = Migrator(migrations: edited)
        #expect(try migrator.status(on: connection).changed == [1])
        do {
            try migrator.migrate(on: connection)
            Issue.record("migrated over a changed file")
        } catch let error as MigrationError {
            #expect(error.description.contains("1"))
            #expect(error.description.contains("changed"))
        }
        #expect(try connection.query("SELECT to_regclass('three') IS NULL AS absent").first?.require(Bool.self, "absent") == true)
    }

    @Test func aFailingMigrationLeavesNoTrace() throws {
        let db = try TestDatabase.createEmpty()
        defer { db.drop() }
        let connection = try PQConnection(conninfo: db.url)
        let broken = migrations + [Migration(version: 3, name: "broken", sql: "CREATE TABLE half (n int); SELECT no_such_function();")]
        #expect(throws: MigrationError.self) { try Migrator(migrations: broken).migrate(on: connection) }
        #expect(try connection.query("SELECT to_regclass('half') IS NULL AS absent").first?.require(Bool.self, "absent") == true)
        #expect(try connection.query("SELECT max(version) AS v FROM schema_migrations").first?.require(Int.self, "v") == 2)
    }

    @Test func twoMigratorsAtOnceApplyEachFileOnce() throws {
        let db = try TestDatabase.createEmpty()
        defer { db.drop() }
        let slow = [Migration(version: 1, name: "slow", sql: "SELECT pg_sleep(0.3); CREATE TABLE once (n int);")]
        let applied = Collected<String>()
        let url = db.url
        concurrently(2) { _ in
            do {
                let connection = try PQConnection(conninfo: url)
                applied.add("\(try Migrator(migrations: slow).migrate(on: connection).count)")
            } catch {
                applied.add("error: \(error)")
            }
        }
        #expect(applied.all.sorted() == ["0", "1"])
    }

    @Test func loadsTheRepositoryMigrationsInOrder() throws {
        let migrator = try Migrator(directory: TestEnvironment.migrationsDirectory)
        #expect(!migrator.migrations.isEmpty)
        #expect(migrator.migrations.map(\.version) == migrator.migrations.map(\.version).sorted())
        #expect(migrator.migrations.first?.version == 1)
    }

    @Test func badFileNamesAreRefused() throws {
        let directory = TestEnvironment.scratchDirectory.appendingPathComponent("migrations-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try "SELECT 1;".write(to: directory.appendingPathComponent("create_things.sql"), atomically: true, encoding: .utf8)
        #expect(throws: MigrationError.self) { try Migrator(directory: directory.path) }
    }
}
