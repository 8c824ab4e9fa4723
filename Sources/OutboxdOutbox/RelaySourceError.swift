/// Relays of both `RELAY_SOURCE`s on one database: a fleet half switched. It would publish
/// correctly (both claim from the queue), but the poll relays would leave the emitted events and
/// the slot's WAL to the others, and a fleet switched back would leave the slot behind; so the
/// relay starting last refuses (exit 78) until every relay runs in one mode.
public struct RelaySourceError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public enum Code: Sendable, Equatable {
        case otherSourceRunning
    }

    public let code = Code.otherSourceRunning
    /// This relay's source.
    public let configured: RelaySource
    /// How many sessions of relays of the other source the database has.
    public let sessions: Int

    public var description: String {
        let other = configured == .wal ? RelaySource.poll : .wal
        return "RELAY_SOURCE=\(configured.rawValue), but a relay with RELAY_SOURCE=\(other.rawValue) runs on this database "
            + "(\(sessions) session(s) named \(other.applicationNames.joined(separator: " or ")) in pg_stat_activity): run every relay of a database "
            + "with one RELAY_SOURCE; to switch, stop them all (a killed relay's sessions end within the keepalive bound), then start them with the new one"
    }

    public var debugDescription: String { description }
}
