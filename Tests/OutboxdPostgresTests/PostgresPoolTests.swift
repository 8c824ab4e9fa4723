import Foundation
import OutboxdTestSupport
import Testing
@testable import OutboxdPostgres

@Suite struct PostgresPoolTests {
    @Test func reusesConnections() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let pool = database.pool(size: 2)
        let first = try pool.withConnection { $0.backendPID }
        let second = try pool.withConnection { $0.backendPID }
        #expect(first == second)
        #expect(pool.idleCount == 1)
    }

    /// After the server ends the sessions (as a restart does), the next caller gets a fresh
    /// connection instead of an error.
    @Test func terminatedConnectionsAreReplacedWithoutAFailedCall() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let pool = database.pool(size: 3)
        let old = try pool.withConnection { $0.backendPID }
        let admin = try database.connect()
        try admin.query("SELECT pg_terminate_backend($1)", [Int(old)])
        // Termination is asynchronous: wait until the backend is gone.
        let deadline = ContinuousClock.now + .seconds(10)
        while try admin.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [Int(old)]).count > 0 {
            try #require(ContinuousClock.now < deadline, "backend \(old) did not end")
            Thread.sleep(forTimeInterval: 0.01)
        }
        let fresh = try pool.withConnection { try $0.query("SELECT pg_backend_pid() AS pid").first!.require(Int32.self, "pid") }
        #expect(fresh != old)
    }

    @Test func waitingPastTheAcquireTimeoutFailsTransiently() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        var configuration = PostgresPoolConfiguration(conninfo: database.url, maxConnections: 1)
        configuration.acquireTimeout = .milliseconds(50)
        let pool = PostgresPool(configuration: configuration)
        try pool.withConnection { _ in
            do {
                try pool.withConnection { _ in }
                Issue.record("a second connection was handed out")
            } catch let error as PostgresError {
                #expect(error.kind == .poolTimeout)
                #expect(error.isTransient)
            }
        }
        try pool.withConnection { _ in }
    }

    @Test func closedPoolRefusesWork() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let pool = database.pool()
        pool.close()
        #expect(throws: PostgresError.self) { try pool.withConnection { _ in } }
    }
}
