/// Where the relay hears of new outbox rows (`RELAY_SOURCE`). In both, the outbox table is the
/// truth and rows are claimed from its queue the same way (G2, G3).
public enum RelaySource: String, Sendable, CaseIterable {
    /// Wake-ups from this process's API, NOTIFY, and `RELAY_POLL_INTERVAL`.
    case poll
    /// Also every committed insert into `outbox`, read from a logical replication slot
    /// (`WalSource`): another service's `outbox_emit` is claimed at once instead of at the next poll.
    case wal
}
