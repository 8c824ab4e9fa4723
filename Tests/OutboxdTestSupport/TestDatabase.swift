import Foundation
import OutboxdPostgres
import Synchronization

/// A migrated database of its own for one test, cloned from a template migrated once per run,
/// so tests can count rows while running in parallel.
public final class TestDatabase: Sendable {
    public let name: String
    public let url: String

    private static let templateName = "outboxd_template"
    private static let templateReady = Mutex(false)

    /// Creates `outboxd_test_<random>` from the migrated template.
    public static func create() throws -> TestDatabase {
        try prepareTemplate()
        return try make(template: templateName)
    }

    /// Creates an empty database, without the schema, for migration tests.
    public static func createEmpty() throws -> TestDatabase {
        try make(template: nil)
    }

    private static func make(template: String?) throws -> TestDatabase {
        let name = "outboxd_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        let admin = try PQConnection(conninfo: TestEnvironment.url(TestEnvironment.databaseURL, database: "postgres"))
        defer { admin.close() }
        var sql = "CREATE DATABASE \(try admin.quoteIdentifier(String(name)))"
        if let template { sql += " TEMPLATE \(try admin.quoteIdentifier(template))" }
        try admin.executeScript(sql)
        return TestDatabase(name: String(name), url: TestEnvironment.url(TestEnvironment.databaseURL, database: String(name)))
    }

    private init(name: String, url: String) {
        self.name = name
        self.url = url
    }

    /// A fresh connection to this database.
    public func connect() throws -> PQConnection {
        try PQConnection(conninfo: url)
    }

    public func pool(size: Int = 4) -> PostgresPool {
        var configuration = PostgresPoolConfiguration(conninfo: url, maxConnections: size)
        configuration.acquireTimeout = .seconds(10)
        return PostgresPool(configuration: configuration)
    }

    /// Runs one query on a short-lived connection and returns the first column of the first row.
    public func scalar<T: PostgresDecodable>(_ sql: String, _ parameters: [(any PostgresParameter)?] = [], as type: T.Type = Int.self) throws -> T? {
        let connection = try connect()
        defer { connection.close() }
        return try connection.query(sql, parameters).first?.decode(T.self, at: 0)
    }

    public func count(_ table: String, where condition: String = "true", _ parameters: [(any PostgresParameter)?] = []) throws -> Int {
        try scalar("SELECT count(*) FROM \(table) WHERE \(condition)", parameters) ?? 0
    }

    /// Drops the database (terminating sessions still connected).
    public func drop() {
        guard let admin = try? PQConnection(conninfo: TestEnvironment.url(TestEnvironment.databaseURL, database: "postgres")) else { return }
        defer { admin.close() }
        // A replication slot of the database (a WAL source's, left by a failed test) blocks its drop.
        _ = try? admin.query("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = $1 AND active", [name])
        for _ in 0..<20 {
            guard let left = try? admin.query("SELECT slot_name FROM pg_replication_slots WHERE database = $1", [name]), !left.isEmpty else { break }
            for row in left {
                if let slot = try? row.require(String.self, "slot_name") { _ = try? admin.query("SELECT pg_drop_replication_slot($1)", [slot]) }
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        if let quoted = try? admin.quoteIdentifier(name) {
            _ = try? admin.executeScript("DROP DATABASE IF EXISTS \(quoted) WITH (FORCE)")
        }
    }

    private static func prepareTemplate() throws {
        try templateReady.withLock { ready in
            guard !ready else { return }
            let admin = try PQConnection(conninfo: TestEnvironment.url(TestEnvironment.databaseURL, database: "postgres"))
            defer { admin.close() }
            try admin.query("SELECT pg_advisory_lock(42)")
            defer { _ = try? admin.query("SELECT pg_advisory_unlock(42)") }
            let exists = try admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [templateName]).first != nil
            if !exists {
                try admin.executeScript("CREATE DATABASE \(try admin.quoteIdentifier(templateName))")
                let connection = try PQConnection(conninfo: TestEnvironment.url(TestEnvironment.databaseURL, database: templateName))
                defer { connection.close() }
                try Migrator(directory: TestEnvironment.migrationsDirectory).migrate(on: connection)
            }
            ready = true
        }
    }
}
