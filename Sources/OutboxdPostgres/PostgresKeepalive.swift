import OutboxdCore

/// TCP keepalives of a session, set on both ends: libpq's (`keepalives`, `keepalives_idle`,
/// `keepalives_interval`, `keepalives_count`, `tcp_user_timeout`), so the client notices a dead
/// server, and the server's (`tcp_keepalives_idle`, `…_interval`, `…_count`, `tcp_user_timeout`),
/// so PostgreSQL notices a dead client and ends its session, releasing its advisory locks (a
/// relay's shards) within `deadAfter` of the last packet instead of the kernel default (~2 h 11 min).
/// A replication session is the exception (`replicationServerSettings`).
public struct PostgresKeepalive: Sendable, Equatable {
    /// Silence before the first probe.
    public var idle: Duration
    /// Between unanswered probes.
    public var interval: Duration
    /// Unanswered probes before the connection is dead.
    public var count: Int

    public init(idle: Duration, interval: Duration, count: Int) {
        self.idle = idle
        self.interval = interval
        self.count = count
    }

    /// How long after the last packet a silent peer counts as dead: `idle + interval × count`.
    /// Also the `tcp_user_timeout`, the bound for data sent but never acknowledged.
    public var deadAfter: Duration { idle + interval * count }

    var idleSeconds: Int { max(1, Int(idle.components.seconds)) }
    var intervalSeconds: Int { max(1, Int(interval.components.seconds)) }
    var userTimeoutMilliseconds: Int { Int(Duration.seconds(idleSeconds + intervalSeconds * count).wholeMilliseconds) }

    /// libpq connection keywords, before the conninfo so that it may override them.
    var libpqParameters: [(String, String)] {
        [("keepalives", "1"), ("keepalives_idle", String(idleSeconds)), ("keepalives_interval", String(intervalSeconds)),
         ("keepalives_count", String(count)), ("tcp_user_timeout", String(userTimeoutMilliseconds))]
    }

    /// Server settings of the session (ignored by PostgreSQL on a Unix socket).
    var serverSettings: [(String, String)] {
        [("tcp_keepalives_idle", String(idleSeconds)), ("tcp_keepalives_interval", String(intervalSeconds)),
         ("tcp_keepalives_count", String(count)), ("tcp_user_timeout", String(userTimeoutMilliseconds))]
    }

    /// Server settings of a replication session: the keepalives, the server's `tcp_user_timeout`
    /// left at the system's, and `wal_sender_timeout` at `deadAfter`. A client that stops reading
    /// for a while (a WAL source paused during a drain) shuts the server's send window, and Linux
    /// ends a connection whose window stays shut for TCP_USER_TIMEOUT even while the client
    /// answers; `wal_sender_timeout` ends the stream when the client stops answering.
    var replicationServerSettings: [(String, String)] {
        serverSettings.map { $0.0 == "tcp_user_timeout" ? ($0.0, "0") : $0 } + [("wal_sender_timeout", String(userTimeoutMilliseconds))]
    }
}
