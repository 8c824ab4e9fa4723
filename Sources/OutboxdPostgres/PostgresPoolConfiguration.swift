import OutboxdCore

/// How the pool connects and how many connections it keeps.
public struct PostgresPoolConfiguration: Sendable {
    /// libpq conninfo or URI. Config key `DATABASE_URL`; default empty (libpq's `PG*` variables).
    public var conninfo: String = ""
    /// Most connections open at once. Config key `DATABASE_POOL_SIZE`; default 16.
    public var maxConnections: Int = 16
    /// How long a caller waits for a free connection. Config key `DATABASE_ACQUIRE_TIMEOUT`; default 2 s.
    public var acquireTimeout: Duration = .seconds(2)
    /// libpq `connect_timeout`. Config key `DATABASE_CONNECT_TIMEOUT`; default 5 s.
    public var connectTimeout: Duration = .seconds(5)
    /// Server-side `statement_timeout`. Config key `DATABASE_STATEMENT_TIMEOUT`; default 10 s (0 = none).
    public var statementTimeout: Duration = .seconds(10)
    /// TCP keepalives on both ends of every session (without them, the kernel's ~2 h; a replication
    /// session's stream is bounded by `wal_sender_timeout` instead of the server's `tcp_user_timeout`): a session
    /// whose peer vanished (a partition, a dead host) ends within `deadAfter`, and with it the
    /// advisory locks it held (a relay's shards). Config keys `DATABASE_KEEPALIVE_IDLE` (default
    /// 5 s), `DATABASE_KEEPALIVE_INTERVAL` (default 2 s), `DATABASE_KEEPALIVE_COUNT` (default 3):
    /// dead after 11 s.
    public var keepalive = PostgresKeepalive(idle: .seconds(5), interval: .seconds(2), count: 3)
    /// `application_name` unless the conninfo sets one.
    public var applicationName: String = "outboxd"

    public init() {}

    public init(conninfo: String, maxConnections: Int = 16) {
        self.conninfo = conninfo
        self.maxConnections = maxConnections
    }

    /// Opens one connection with these settings (the relay and consumers own theirs this way).
    public func connect() throws -> PQConnection {
        try PQConnection(conninfo: conninfo,
                         connectTimeoutSeconds: Int(connectTimeout.components.seconds),
                         applicationName: applicationName,
                         statementTimeoutMilliseconds: Int(statementTimeout.wholeMilliseconds),
                         keepalive: keepalive)
    }

    /// Opens a logical replication connection (`replication=database`) with these settings, named
    /// `applicationName`: the keepalives on both ends, `wal_sender_timeout` at their bound in place of
    /// the server's `tcp_user_timeout`, no statement timeout.
    public func connectReplication(applicationName: String) throws -> PQConnection {
        try PQConnection(conninfo: conninfo, connectTimeoutSeconds: Int(connectTimeout.components.seconds),
                         applicationName: applicationName, keepalive: keepalive, replication: true)
    }
}
