import OutboxdPostgres
import OutboxdTestSupport
import Testing

/// `bytea` in libpq's text format, decoded by hand and read back from a real server.
@Suite struct PostgresBytesTests {
    @Test func hexTextDecodesAndAnythingElseIsRefused() {
        #expect(PostgresBytes(postgresText: "\\x")?.bytes == [])
        #expect(PostgresBytes(postgresText: "\\x00ff7F0a")?.bytes == [0x00, 0xFF, 0x7F, 0x0A])
        #expect(PostgresBytes(postgresText: "\\xDEADbeef")?.bytes == [0xDE, 0xAD, 0xBE, 0xEF])
        for bad in ["", "\\", "00ff", "\\x0", "\\x0g", "\\xg0", "\\x 0", "x00", "\\X00", "\\x00\u{e9}"] {
            #expect(PostgresBytes(postgresText: bad) == nil, "\(bad)")
        }
    }

    @Test func everyByteComesBackFromTheServer() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        defer { connection.close() }
        let all = (0...255).map(UInt8.init)
        let hex = "\\x" + all.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        let row = try #require(try connection.query("SELECT $1::bytea AS b, length($1::bytea) AS n", [hex]).first)
        #expect(try row.require(Int.self, "n") == 256)
        #expect(try row.require(PostgresBytes.self, "b").bytes == all)
    }
}
