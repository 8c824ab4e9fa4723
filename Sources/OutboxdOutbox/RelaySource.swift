/// Where the relay hears of new outbox rows (`RELAY_SOURCE`). In both, the outbox table is the
/// truth and rows are claimed from its queue the same way (G2, G3).
public enum RelaySource: String, Sendable, CaseIterable {
    /// Wake-ups from this process's API, NOTIFY, and `RELAY_POLL_INTERVAL`.
    case poll
    /// Also every committed insert into `outbox`, read from a logical replication slot
    /// (`WalSource`): another service's `outbox_emit` is claimed at once instead of at the next poll.
    case wal
}

extension RelaySource {
    /// What the relay's sessions are named in `pg_stat_activity` (`application_name`): its lanes,
    /// then (wal) its replication stream.
    public var applicationNames: [String] {
        switch self {
        case .poll: ["outboxd-relay"]
        case .wal: ["outboxd-relay+wal", "outboxd-relay-wal"]
        }
    }
}
