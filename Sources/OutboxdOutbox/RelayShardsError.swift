/// A relay whose `RELAY_SHARDS` differs from the count the running relays use: it would lock
/// other keys for the same rows and publish one key's events beside another relay (G3), so it
/// publishes nothing.
public struct RelayShardsError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public enum Code: Sendable, Equatable {
        /// The running relays use another count.
        case mismatch
        /// Relays run, but no count is recorded (the row of `outbox_relay_shards` was deleted).
        case unknownInUse
    }

    public let code: Code
    /// This relay's `RELAY_SHARDS`.
    public let configured: Int
    /// The count the running relays use, when recorded.
    public let inUse: Int?

    init(configured: Int, inUse: Int?) {
        self.code = inUse == nil ? .unknownInUse : .mismatch
        self.configured = configured
        self.inUse = inUse
    }

    public var description: String {
        let change = "to change the count, stop every relay (outboxd relay and outboxd serve), then start them all with the new RELAY_SHARDS; the first to start records it"
        switch code {
        case .mismatch:
            return "RELAY_SHARDS=\(configured), but the running relays use \(inUse ?? 0) shard(s) (recorded in outbox_relay_shards): "
                + "set RELAY_SHARDS=\(inUse ?? 0) to run beside them, or \(change)"
        case .unknownInUse:
            return "RELAY_SHARDS=\(configured), but relays run and no shard count is recorded in outbox_relay_shards: \(change)"
        }
    }

    public var debugDescription: String { description }
}
