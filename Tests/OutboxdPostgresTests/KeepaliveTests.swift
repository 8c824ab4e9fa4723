import Foundation
import OutboxdPostgres
import OutboxdTestSupport
import Testing

/// Sessions carry TCP keepalives on both ends (issue #14): without them a partitioned relay kept
/// its shard locks for the kernel default (~2 h).
@Suite struct KeepaliveTests {
    func socketOption(_ fd: Int32, _ level: Int32, _ name: Int32) -> Int32 {
        var value: Int32 = -1
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, level, name, &value, &length) == 0 else { return -1 }
        return value
    }

    @Test func poolSessionsSetKeepalivesOnTheClientAndTheServer() throws {
        var configuration = PostgresPoolConfiguration(conninfo: TestEnvironment.databaseURL)
        configuration.keepalive = PostgresKeepalive(idle: .seconds(7), interval: .seconds(3), count: 4)
        #expect(configuration.keepalive.deadAfter == .seconds(19))
        let connection = try configuration.connect()
        defer { connection.close() }
        // The server's end of this TCP session.
        let row = try #require(try connection.query("""
            SELECT current_setting('tcp_keepalives_idle') AS idle, current_setting('tcp_keepalives_interval') AS interval,
                   current_setting('tcp_keepalives_count') AS count, current_setting('tcp_user_timeout') AS user_timeout
            """).first)
        #expect(try row.require(String.self, "idle") == "7")
        #expect(try row.require(String.self, "interval") == "3")
        #expect(try row.require(String.self, "count") == "4")
        #expect(try row.require(String.self, "user_timeout") == "19000")
        // The client's end: the socket libpq opened.
        let fd = connection.socketDescriptor
        #expect(socketOption(fd, SOL_SOCKET, SO_KEEPALIVE) == 1)
        #expect(socketOption(fd, Int32(IPPROTO_TCP), TCP_KEEPIDLE) == 7)
        #expect(socketOption(fd, Int32(IPPROTO_TCP), TCP_KEEPINTVL) == 3)
        #expect(socketOption(fd, Int32(IPPROTO_TCP), TCP_KEEPCNT) == 4)
        #expect(socketOption(fd, Int32(IPPROTO_TCP), TCP_USER_TIMEOUT) == 19_000)
    }

    /// The conninfo may set its own (libpq's keywords come first).
    @Test func theConninfoOverridesTheClientKeepalives() throws {
        var configuration = PostgresPoolConfiguration(conninfo: TestEnvironment.databaseURL + "?keepalives_idle=42")
        configuration.keepalive = PostgresKeepalive(idle: .seconds(7), interval: .seconds(3), count: 4)
        let connection = try configuration.connect()
        defer { connection.close() }
        #expect(socketOption(connection.socketDescriptor, Int32(IPPROTO_TCP), TCP_KEEPIDLE) == 42)
    }
}
