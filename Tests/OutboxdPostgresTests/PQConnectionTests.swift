import Foundation
import OutboxdCore
import OutboxdTestSupport
import Testing
@testable import OutboxdPostgres

@Suite struct PQConnectionTests {
    @Test func libraryVersionIsMajorDotMinor() {
        #expect(PQLibrary.format(150018) == "15.18")
        #expect(PQLibrary.format(170000) == "17.0")
        #expect(PQLibrary.format(90624) == "9.6.24")
        #expect(PQLibrary.version.split(separator: ".").count == 2)
    }

    @Test func parametersAndTypedRows() throws {
        let connection = try PQConnection(conninfo: TestEnvironment.databaseURL)
        let id = UUID()
        let rows = try connection.query("""
            SELECT $1::int + 1 AS n, $2::text AS s, $3::uuid AS u, $4::timestamptz AS t, $5::bool AS b, $6::text AS missing
            """, [41, "it's \"quoted\"; DROP TABLE x", id, Timestamp(rfc3339: "2026-03-04T05:06:07.123456Z"), true, nil])
        let row = try #require(rows.first)
        #expect(try row.require(Int.self, "n") == 42)
        #expect(try row.require(String.self, "s") == "it's \"quoted\"; DROP TABLE x")
        #expect(try row.require(UUID.self, "u") == id)
        #expect(try row.require(Timestamp.self, "t") == Timestamp(rfc3339: "2026-03-04T05:06:07.123456Z"))
        #expect(try row.require(Bool.self, "b"))
        #expect(try row.decode(String.self, "missing") == nil)
        #expect(throws: PostgresError.self) { try row.require(String.self, "missing") }
        #expect(throws: PostgresError.self) { try row.require(Int.self, "s") }
    }

    /// Array parameters survive quotes, backslashes, separators, the word NULL and non-ASCII text.
    @Test func arrayParametersRoundTrip() throws {
        let connection = try PQConnection(conninfo: TestEnvironment.databaseURL)
        let texts = ["plain", "with \"quotes\"", "back\\slash", "a,b", "{braces}", "NULL", "", "größe ✓ 🚀", " spaced "]
        let rows = try connection.query("SELECT t, ordinality::int AS n FROM unnest($1::text[]) WITH ORDINALITY AS t", [texts])
        #expect(try rows.map { try $0.require(String.self, "t") } == texts)
        let numbers: [Int64] = [1, -2, 9_223_372_036_854_775_807]
        #expect(try connection.query("SELECT sum(x)::text AS s FROM unnest($1::bigint[]) x", [[numbers[0], numbers[1]]]).first?.require(String.self, "s") == "-1")
        #expect(try connection.query("SELECT $1::bigint[] AS a", [numbers]).first?.require(String.self, "a") == "{1,-2,9223372036854775807}")
        let nullable = PostgresNullableArray<String>(["x", nil, "NULL", nil])
        let decoded = try connection.query("SELECT t, t IS NULL AS missing FROM unnest($1::text[]) WITH ORDINALITY AS u(t, n) ORDER BY n", [nullable])
        #expect(try decoded.map { try $0.require(Bool.self, "missing") } == [false, true, false, true])
        #expect(try decoded.map { try $0.decode(String.self, "t") } == ["x", nil, "NULL", nil])
    }

    @Test func preparedStatementsRunRepeatedly() throws {
        let connection = try PQConnection(conninfo: TestEnvironment.databaseURL)
        let statement = PostgresStatement(name: "test_square", sql: "SELECT $1::int * $1::int AS sq")
        for n in 1...5 {
            #expect(try connection.query(statement, [n]).first?.require(Int.self, "sq") == n * n)
        }
    }

    @Test func serverErrorsCarrySQLStateWithoutValuesInTheDescription() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        try connection.executeScript("CREATE TABLE t (k text PRIMARY KEY)")
        try connection.query("INSERT INTO t VALUES ($1)", ["secret-value"])
        do {
            try connection.query("INSERT INTO t VALUES ($1)", ["secret-value"])
            Issue.record("duplicate insert succeeded")
        } catch let error as PostgresError {
            #expect(error.kind == .server)
            #expect(error.code == .uniqueViolation)
            #expect(error.constraint == "t_pkey")
            #expect(!error.description.contains("secret-value"))
            #expect(error.debugDescription.contains("secret-value"))
            #expect(!error.isTransient)
        }
        // The connection is still usable after a statement error.
        #expect(try connection.query("SELECT count(*) AS n FROM t").first?.require(Int.self, "n") == 1)
    }

    @Test func transactionRollsBackWhenTheBodyThrows() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        try connection.executeScript("CREATE TABLE t (n int)")
        struct Abort: Error {}
        #expect(throws: Abort.self) {
            try connection.transaction {
                try connection.query("INSERT INTO t VALUES (1)")
                throw Abort()
            }
        }
        try connection.transaction { try connection.query("INSERT INTO t VALUES (2)") }
        #expect(try database.count("t") == 1)
    }

    @Test func pipelineReturnsEachStatementsRowsInOrder() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        try connection.executeScript("CREATE TABLE t (n int)")
        let insert = PostgresStatement(name: "test_pipeline_insert", sql: "INSERT INTO t SELECT unnest($1::int[])")
        let sum = PostgresStatement(name: "test_pipeline_sum", sql: "SELECT sum(n)::int AS s, $1::text AS tag FROM t")
        for round in 1...2 { // the second round finds both statements prepared
            let results = try connection.finishPipeline(connection.startPipeline([.command("BEGIN"), .prepared(insert, [[1, 2, 3]]), .prepared(sum, ["r\(round)"]), .command("COMMIT")]))
            #expect(results.count == 4)
            #expect(results[1].affectedRows == 3)
            #expect(try results[2].first?.require(Int.self, "s") == 6 * round)
            #expect(try results[2].first?.require(String.self, "tag") == "r\(round)")
        }
        #expect(try database.count("t") == 6)
        let prepared = try connection.query("SELECT name FROM pg_prepared_statements ORDER BY name").map { try $0.require(String.self, "name") }
        #expect(prepared == ["test_pipeline_insert", "test_pipeline_sum"])
    }

    /// A failing statement throws its own error, the rest of the pipeline is skipped, and after a
    /// rollback the connection works (nothing of the aborted transaction is kept).
    @Test func pipelineStopsAtTheFirstErrorAndTheConnectionStaysUsable() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        try connection.executeScript("CREATE TABLE t (n int PRIMARY KEY)")
        let insert = PostgresStatement(name: "test_pipeline_insert_one", sql: "INSERT INTO t VALUES ($1)")
        do {
            try connection.finishPipeline(connection.startPipeline([.command("BEGIN"), .prepared(insert, [1]), .prepared(insert, [1]), .prepared(insert, [2]), .command("COMMIT")]))
            Issue.record("a duplicate key in a pipeline did not throw")
        } catch let error as PostgresError {
            #expect(error.code == .uniqueViolation)
        }
        #expect(!connection.isBroken)
        connection.rollbackIfPossible()
        #expect(try database.count("t") == 0)
        try connection.finishPipeline(connection.startPipeline([.command("BEGIN"), .prepared(insert, [3]), .command("COMMIT")]))
        #expect(try connection.query("SELECT array_agg(n)::text AS a FROM t").first?.require(String.self, "a") == "{3}")
    }

    /// `startPipeline` returns at once: the server runs the statements (seen active from another
    /// session) while the caller goes on, and `finishPipeline` reads the results afterwards.
    @Test func startedPipelineRunsWhileTheCallerGoesOn() throws {
        let worker = try PQConnection(conninfo: TestEnvironment.databaseURL)
        let observer = try PQConnection(conninfo: TestEnvironment.databaseURL)
        let statement = PostgresStatement(name: "test_pipeline_sleep", sql: "SELECT pg_sleep($1::int / 1000.0) IS NULL AS slept, $2::int AS n")
        let pending = try worker.startPipeline([.prepared(statement, [500, 7])])
        try waitUntil("the worker's statement is running", timeout: .seconds(30)) {
            try observer.query("SELECT count(*)::int AS c FROM pg_stat_activity WHERE pid = $1 AND state = 'active' AND wait_event = 'PgSleep'",
                               [Int(worker.backendPID)]).first?.require(Int.self, "c") == 1
        }
        let results = try worker.finishPipeline(pending)
        #expect(try results[0].first?.require(Int.self, "n") == 7)
        #expect(try worker.query("SELECT 1 AS one").first?.require(Int.self, "one") == 1)
    }

    /// `plannedEachRun` statements run unnamed, so no cached plan outlives the table size it was made for.
    @Test func statementsPlannedEachRunAreNeverPrepared() throws {
        let connection = try PQConnection(conninfo: TestEnvironment.databaseURL)
        let statement = PostgresStatement(name: "test_planned_each_run", plannedEachRun: true, sql: "SELECT $1::int + 1 AS n")
        for n in 1...6 {
            #expect(try connection.query(statement, [n]).first?.require(Int.self, "n") == n + 1)
        }
        #expect(try connection.finishPipeline(connection.startPipeline([.prepared(statement, [41])]))[0].first?.require(Int.self, "n") == 42)
        #expect(try connection.query("SELECT count(*)::int AS c FROM pg_prepared_statements").first?.require(Int.self, "c") == 0)
    }

    /// A database default and a conninfo `client_encoding` of LATIN1 change nothing: the session
    /// speaks UTF8, text outside LATIN1 is written and read back as sent, and the server stores
    /// the same characters (their `char_length` and code points).
    @Test func clientEncodingIsUTF8WhateverTheDefaults() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let admin = try database.connect()
        try admin.executeScript("ALTER DATABASE \(try admin.quoteIdentifier(database.name)) SET client_encoding = 'LATIN1'")
        try admin.executeScript("CREATE TABLE t (s text)")
        admin.close()
        let text = "größe ✓ 🚀 é"
        for conninfo in [database.url, database.url + (database.url.contains("?") ? "&" : "?") + "client_encoding=LATIN1"] {
            let connection = try PQConnection(conninfo: conninfo)
            defer { connection.close() }
            #expect(try connection.query("SHOW client_encoding").first?.require(String.self, at: 0) == "UTF8")
            try connection.query("DELETE FROM t")
            try connection.query("INSERT INTO t VALUES ($1)", [text])
            let row = try #require(try connection.query("SELECT s, char_length(s) AS n, ascii(substr(s, 3, 1)) AS c FROM t").first)
            #expect(try row.require(String.self, "s") == text)
            #expect(try row.require(Int.self, "n") == text.count)
            #expect(try row.require(Int.self, "c") == 0xF6)
        }
    }

    @Test func unreachableServerIsATransientConnectionError() throws {
        let port = try TestCluster.freePort()
        do {
            _ = try PQConnection(conninfo: "postgresql://postgres@127.0.0.1:\(port)/x", connectTimeoutSeconds: 2)
            Issue.record("connected to a closed port")
        } catch let error as PostgresError {
            #expect(error.kind == .connectionUnavailable)
            #expect(error.isTransient)
            #expect(error.description.contains("\(port)"))
        }
    }
}
