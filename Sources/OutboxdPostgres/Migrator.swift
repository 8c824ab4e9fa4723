import Foundation

/// One numbered SQL file from the migrations directory (`0001_create_tasks.sql`).
public struct Migration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let sql: String
}

/// What the database holds compared with the migration files.
public struct MigrationStatus: Sendable, Equatable {
    /// Files not yet applied, in order.
    public var pending: [Migration] = []
    /// Applied versions whose file changed since (checksum differs).
    public var changed: [Int] = []
    /// Applied versions with no file any more.
    public var missing: [Int] = []

    public var isCurrent: Bool { pending.isEmpty && changed.isEmpty && missing.isEmpty }
}

/// Applies `migrations/NNNN_name.sql` in order, each in its own transaction, and records each in
/// `schema_migrations` with a SHA-256 checksum. Refuses to run when an applied file changed.
/// Safe to run twice or from two processes at once: it holds an advisory lock while it works.
public struct Migrator: Sendable {
    /// Advisory lock key shared by every `outboxd migrate` (the ASCII of "outboxdm").
    static let lockKey: Int64 = 0x6F7574_626F78_646D

    public let migrations: [Migration]

    public init(migrations: [Migration]) {
        self.migrations = migrations
    }

    /// Loads the `.sql` files of `directory`. Names must be `<number>_<name>.sql`; versions unique.
    public init(directory: String) throws {
        let url = URL(fileURLWithPath: directory, isDirectory: true)
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: url.path)
        } catch {
            throw MigrationError("cannot read migrations directory \(directory): \(error.localizedDescription)")
        }
        var loaded: [Migration] = []
        for fileName in names where fileName.hasSuffix(".sql") {
            let stem = fileName.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]), version > 0 else {
                throw MigrationError("migration file \(fileName) must be named <number>_<name>.sql")
            }
            let sql: String
            do {
                sql = try String(contentsOf: url.appendingPathComponent(fileName), encoding: .utf8)
            } catch {
                throw MigrationError("cannot read migration \(fileName): \(error.localizedDescription)")
            }
            loaded.append(Migration(version: version, name: String(stem[stem.index(after: underscore)...]), sql: sql))
        }
        loaded.sort { $0.version < $1.version }
        for (a, b) in zip(loaded, loaded.dropFirst()) where a.version == b.version {
            throw MigrationError("two migration files have version \(a.version): \(a.name) and \(b.name)")
        }
        self.init(migrations: loaded)
    }

    /// Compares the files with what the database recorded. Does not lock or change anything.
    public func status(on connection: PQConnection) throws -> MigrationStatus {
        let exists = try connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")
        guard try exists.first?.require(Bool.self, "present") == true else {
            return MigrationStatus(pending: migrations)
        }
        let applied = try connection.query("SELECT version, checksum FROM schema_migrations ORDER BY version")
        var recorded: [Int: String] = [:]
        for row in applied {
            recorded[try row.require(Int.self, "version")] = try row.require(String.self, "checksum")
        }
        var status = MigrationStatus()
        for migration in migrations {
            if let checksum = recorded.removeValue(forKey: migration.version) {
                if try Self.checksum(of: migration, on: connection) != checksum {
                    status.changed.append(migration.version)
                }
            } else {
                status.pending.append(migration)
            }
        }
        status.missing = recorded.keys.sorted()
        return status
    }

    /// Applies every pending migration; returns those it applied (none when already current).
    @discardableResult
    public func migrate(on connection: PQConnection, log: (Migration) -> Void = { _ in }) throws -> [Migration] {
        try connection.query("SELECT pg_advisory_lock($1)", [Self.lockKey])
        defer { _ = try? connection.query("SELECT pg_advisory_unlock($1)", [Self.lockKey]) }
        try connection.executeScript("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        let status = try status(on: connection)
        if !status.changed.isEmpty {
            throw MigrationError("applied migration(s) \(status.changed.map(String.init).joined(separator: ", ")) changed since they ran; restore the original files")
        }
        if !status.missing.isEmpty {
            throw MigrationError("the database has migration(s) \(status.missing.map(String.init).joined(separator: ", ")) that no file here matches; is this an older outboxd?")
        }
        for migration in status.pending {
            do {
                try connection.transaction {
                    try connection.executeScript(migration.sql)
                    try connection.query(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, encode(sha256(convert_to($3, 'UTF8')), 'hex'))",
                        [migration.version, migration.name, migration.sql])
                }
            } catch let error as PostgresError {
                throw MigrationError("migration \(migration.version)_\(migration.name) failed: \(error.debugDescription)")
            }
            log(migration)
        }
        return status.pending
    }

    static func checksum(of migration: Migration, on connection: PQConnection) throws -> String {
        try connection.query("SELECT encode(sha256(convert_to($1, 'UTF8')), 'hex') AS sum", [migration.sql])
            .first!.require(String.self, "sum")
    }
}

/// A migration could not be loaded or applied; the message says which file and why.
public struct MigrationError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
