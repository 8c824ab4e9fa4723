import Foundation
import OutboxdCore
import OutboxdDaemon
import OutboxdTestSupport
import Testing

/// An in-process `outboxd serve` (HTTP API) on a migrated database of its own, on a free port.
///
/// Its clients record every exchange, and each one on a documented operation is checked, as it
/// completes, against the OpenAPI document the daemon serves (status documented, required
/// headers present, body valid): every mismatch fails the test that made the request (also
/// through a fixture shared by several tests).
final class APIFixture {
    let database: TestDatabase
    let daemon: Daemon
    let recorder = HTTPExchangeRecorder { APIFixture.check([$0]) }

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

    func client() throws -> HTTPTestClient {
        let client = try HTTPTestClient(port: daemon.httpPort)
        client.recorder = recorder
        return client
    }

    /// Rows in tasks and in outbox.
    func counts() throws -> (tasks: Int, outbox: Int) {
        (try database.count("tasks"), try database.count("outbox"))
    }

    deinit {
        daemon.stop()
        database.drop()
    }

    static let validator = Result { try OpenAPIValidator(text: OpenAPIDocument.text) }

    /// Records an issue for every exchange that does not conform to the OpenAPI document.
    static func check(_ exchanges: [RecordedExchange], sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let validator = try validator.get()
            for exchange in exchanges {
                for problem in validator.problems(of: exchange) ?? [] {
                    Issue.record("OpenAPI: \(problem) (\(exchange.method) \(exchange.path.prefix(120)))", sourceLocation: sourceLocation)
                }
            }
        } catch {
            Issue.record("OpenAPI: docs/openapi.json does not parse: \(error)", sourceLocation: sourceLocation)
        }
    }
}

extension HTTPTestResponse {
    /// A field of a JSON object body as a string.
    func string(_ key: String) throws -> String? { try json().objectValue?[key]?.stringValue }
}
