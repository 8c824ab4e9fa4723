import Foundation
import OutboxdCore
import OutboxdDaemon
import OutboxdTestSupport

/// An in-process `outboxd serve` (HTTP API) on a migrated database of its own, on a free port.
final class APIFixture {
    let database: TestDatabase
    let daemon: Daemon

    init(parts: Set<Daemon.Part> = [.api, .relay], configure: (inout Configuration) -> Void = { _ in }) throws {
        database = try TestDatabase.create()
        var configuration = Configuration()
        configuration.database.conninfo = database.url
        configuration.database.maxConnections = 8
        configuration.http.port = 0
        configuration.migrationsDirectory = TestEnvironment.migrationsDirectory
        configuration.shutdownTimeout = .seconds(10)
        configure(&configuration)
        daemon = Daemon(configuration: configuration, parts: parts)
        try daemon.start(migrate: false)
    }

    func client() throws -> HTTPTestClient { try HTTPTestClient(port: daemon.httpPort) }

    /// Rows in tasks and in outbox.
    func counts() throws -> (tasks: Int, outbox: Int) {
        (try database.count("tasks"), try database.count("outbox"))
    }

    deinit {
        daemon.stop()
        database.drop()
    }
}

extension HTTPTestResponse {
    /// A field of a JSON object body as a string.
    func string(_ key: String) throws -> String? { try json().objectValue?[key]?.stringValue }
}
