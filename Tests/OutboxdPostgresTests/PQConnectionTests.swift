import Foundation
import OutboxdCore
import OutboxdTestSupport
import Testing
@testable import OutboxdPostgres

@Suite struct PQConnectionTests {
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
