import OutboxdPostgres

/// The replication slot and publication of `RELAY_SOURCE=wal`, over a plain connection: what the
/// server must allow, their creation when missing, and how much WAL the slot holds back.
struct WalSlot: Sendable {
    let name: String
    let publication: String

    /// What the database does not allow for the WAL source, as an operator would fix it (nil when
    /// all is in place: `wal_level=logical`, and a role with REPLICATION or a superuser), and
    /// whether `max_slot_wal_keep_size` is unlimited (a slot nobody reads can fill the disk).
    static func check(on connection: PQConnection) throws -> (problem: String?, keepsWALWithoutLimit: Bool) {
        let row = try connection.query("""
            SELECT current_setting('wal_level') AS wal_level, current_user AS role,
                   (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user) AS can_replicate
            """).first
        guard let row else { return ("cannot read the server's settings", false) }
        let unlimited = try keepLimit(on: connection) == nil
        let level = try row.require(String.self, "wal_level")
        if level != "logical" {
            return ("wal_level is \(level), not logical: set wal_level = logical in postgresql.conf and restart PostgreSQL, or use RELAY_SOURCE=poll", unlimited)
        }
        if try !(row.decode(Bool.self, "can_replicate") ?? false) {
            return ("the role \(try row.require(String.self, "role")) lacks REPLICATION: ALTER ROLE … WITH REPLICATION, or use RELAY_SOURCE=poll", unlimited)
        }
        return (nil, unlimited)
    }

    /// `max_slot_wal_keep_size` in bytes; nil when unlimited.
    static func keepLimit(on connection: PQConnection) throws -> Int64? {
        let megabytes = try connection.query("SELECT setting::bigint AS mb FROM pg_settings WHERE name = 'max_slot_wal_keep_size'")
            .first?.decode(Int64.self, "mb") ?? -1
        return megabytes < 0 ? nil : megabytes << 20
    }

    /// Creates the publication (of the inserted rows' ids only: the relay reads the rows from the
    /// table, so payloads need not be decoded and sent) and the slot when missing, and registers
    /// the slot in `outbox_wal_slots` (where `outbox_emit_message` looks for a reader). The slot
    /// is checked to be a `pgoutput` slot of this database.
    func prepare(on connection: PQConnection) throws -> Preparation {
        let registered = try connection.query("SELECT 1 FROM outbox_wal_slots WHERE slot_name = $1", [name]).first != nil
        let created = try prepareSlot(on: connection)
        if !registered { try connection.query("INSERT INTO outbox_wal_slots (slot_name) VALUES ($1) ON CONFLICT (slot_name) DO NOTHING", [name]) }
        return created ? (registered ? .recreated : .created) : .existing
    }

    enum Preparation: Equatable {
        case existing
        /// Created the first time.
        case created
        /// Created again: it was registered, so a relay had it before, and it was dropped or lost
        /// (by an operator, `max_slot_wal_keep_size`, a failover) whether or not a relay ran then.
        case recreated
    }

    private func prepareSlot(on connection: PQConnection) throws -> Bool {
        let exists = try connection.query("SELECT 1 FROM pg_publication WHERE pubname = $1", [publication]).first != nil
        if !exists {
            // A concurrent creator wins; its publication is the same.
            do {
                try connection.executeScript("CREATE PUBLICATION \(try connection.quoteIdentifier(publication)) FOR TABLE outbox (id) WITH (publish = 'insert')")
            } catch let error as PostgresError where error.code == .duplicateObject {}
        }
        if let row = try connection.query("""
            SELECT plugin, database = current_database() AS here, wal_status FROM pg_replication_slots WHERE slot_name = $1
            """, [name]).first {
            guard try row.decode(String.self, "plugin") == "pgoutput", try row.require(Bool.self, "here") else {
                throw PostgresError(kind: .server, code: .objectNotInPrerequisiteState,
                                    message: "replication slot \(name) exists, but is not a pgoutput slot of this database: set RELAY_WAL_SLOT to another name")
            }
            guard try row.decode(String.self, "wal_status") != "lost" else {
                // Invalidated (max_slot_wal_keep_size): it can never stream again.
                try connection.query("SELECT pg_drop_replication_slot($1)", [name])
                return try create(on: connection)
            }
            return false
        }
        return try create(on: connection)
    }

    /// Creating a logical slot waits until every transaction running then has ended and the server
    /// has logged its running transactions again (every 15 s while it is busy), so it may take
    /// longer than `DATABASE_STATEMENT_TIMEOUT`: it gets `creationTimeout`.
    private func create(on connection: PQConnection) throws -> Bool {
        try connection.query("SELECT set_config('statement_timeout', $1, false)", ["\(Self.creationTimeout.wholeMilliseconds)ms"])
        defer { try? connection.executeScript("RESET statement_timeout") }
        do {
            try connection.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [name])
            return true
        } catch let error as PostgresError where error.code == .duplicateObject {
            return false
        }
    }

    static let creationTimeout: Duration = .seconds(120)

    /// True when every transaction of `xids` (32-bit ids, of transactions the stream saw commit)
    /// is visible to a new snapshot. A commit reaches the stream once its WAL is flushed, a moment
    /// before its backend makes it visible: a claim woken at once could miss its rows.
    static func allVisible(_ xids: [UInt32], on connection: PQConnection) throws -> Bool {
        // A 32-bit id is widened with the epoch of the snapshot's xmax (one back when it is past it).
        try connection.query("""
            WITH s AS (SELECT pg_current_snapshot() AS snap, pg_snapshot_xmax(pg_current_snapshot())::text::numeric AS xmax)
            SELECT bool_and(pg_visible_in_snapshot(
                       (floor(s.xmax / 4294967296) * 4294967296 + x
                        - CASE WHEN x > s.xmax % 4294967296 THEN 4294967296 ELSE 0 END)::text::xid8, s.snap)) AS visible
            FROM s, unnest($1::bigint[]) AS x
            """, [xids.map(Int64.init)]).first?.decode(Bool.self, "visible") ?? true
    }

    /// The slot's confirmed position, and the WAL bytes it holds back (from its restart position
    /// to the server's); nil when the slot does not exist.
    func position(on connection: PQConnection) throws -> (confirmed: LSN, retainedBytes: Int64)? {
        guard let row = try connection.query("""
            SELECT (confirmed_flush_lsn - '0/0')::text AS confirmed,
                   coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::bigint AS retained
            FROM pg_replication_slots WHERE slot_name = $1
            """, [name]).first else { return nil }
        let confirmed = UInt64(try row.decode(String.self, "confirmed") ?? "0") ?? 0
        return (LSN(rawValue: confirmed), try row.require(Int64.self, "retained"))
    }
}
