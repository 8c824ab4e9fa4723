import OutboxdCore
import OutboxdHTTP
import OutboxdPostgres
import OutboxdTasks

/// `outboxd serve`: owns every long-lived part, and the order they start and stop in.
///
/// Start: database reachable → schema current (or migrated with `--migrate`) → HTTP listener.
/// Stop: stop accepting → finish requests in flight → close connections.
public final class Daemon: Sendable {
    public let configuration: Configuration
    private let logger = Logger(label: "outboxd")
    private let pool: PostgresPool
    private let server: MHDServer

    public init(configuration: Configuration) {
        self.configuration = configuration
        pool = PostgresPool(configuration: configuration.database)
        var router = Router()
        HealthRoutes(pool: pool).register(in: &router)
        TaskRoutes(store: TaskStore(pool: pool, topic: configuration.outboxTopic)).register(in: &router)
        server = MHDServer(configuration: configuration.http, handler: router)
    }

    /// The bound HTTP port (after `start`).
    public var httpPort: Int { server.port }

    public func start(migrate: Bool) throws {
        try Self.prepareDatabase(configuration, migrate: migrate, logger: logger)
        do {
            try server.start()
        } catch {
            pool.close()
            throw DaemonError(.unavailable, "\(error)")
        }
        logger.notice("listening", ["address": "\(configuration.http.host):\(server.port)"])
    }

    public func stop() {
        logger.notice("stopping", ["timeout": ValueParser.format(configuration.shutdownTimeout)])
        server.stop(timeout: configuration.shutdownTimeout)
        pool.close()
        logger.notice("stopped")
    }

    /// Fails fast when PostgreSQL is unreachable or the schema is not current; migrates first when asked.
    static func prepareDatabase(_ configuration: Configuration, migrate: Bool, logger: Logger) throws {
        let connection: PQConnection
        do {
            connection = try configuration.database.connect()
        } catch {
            throw DaemonError(.unavailable, "cannot connect to PostgreSQL (DATABASE_URL=\(Redaction.conninfo(configuration.database.conninfo))): \(error)")
        }
        defer { connection.close() }
        let migrator: Migrator
        do {
            migrator = try Migrator(directory: configuration.migrationsDirectory)
        } catch {
            throw DaemonError(.configuration, "MIGRATIONS_DIR: \(error)")
        }
        do {
            if migrate {
                try migrator.migrate(on: connection) { logger.notice("applied migration", ["version": "\($0.version)", "name": $0.name]) }
            }
            let status = try migrator.status(on: connection)
            guard status.isCurrent else {
                throw DaemonError(.configuration, Self.describe(status))
            }
        } catch let error as DaemonError {
            throw error
        } catch {
            throw DaemonError(.failure, "\(error)")
        }
    }

    static func describe(_ status: MigrationStatus) -> String {
        var problems: [String] = []
        if !status.pending.isEmpty {
            problems.append("\(status.pending.count) pending migration(s): " + status.pending.map { "\($0.version)_\($0.name)" }.joined(separator: ", "))
        }
        if !status.changed.isEmpty {
            problems.append("applied migration(s) changed since: " + status.changed.map(String.init).joined(separator: ", "))
        }
        if !status.missing.isEmpty {
            problems.append("database has migration(s) with no file: " + status.missing.map(String.init).joined(separator: ", "))
        }
        return "the database schema is not current (\(problems.joined(separator: "; "))); run `outboxd migrate` or `outboxd serve --migrate`"
    }
}
