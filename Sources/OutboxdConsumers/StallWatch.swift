/// Which partitions of one consumer have records to process yet processed none for `timeout`:
/// a pure state machine, fed by the consumer's thread (records polled and processed, the lag it
/// sees, the problem in the way) and read by `/readyz` and `/metrics`. A partition is waiting
/// from the moment it has a record in hand or lag, until a record of it is processed; then, if
/// more is in hand, it waits anew from that moment.
public struct StallWatch: Sendable {
    public typealias Instant = ContinuousClock.Instant

    /// A partition that has waited `timeout` or longer.
    public struct Stall: Sendable, Equatable {
        public let partition: Int32
        /// The offset of the record waited for, when known.
        public let offset: Int64?
        /// How long it has waited.
        public let waited: Duration
        /// What is in the way, when known: a short classification, never a payload.
        public let reason: String?
    }

    struct Partition {
        /// The next offset to process; nil before the first record processed.
        var next: Int64?
        /// While `next` is nil: the lowest offset polled.
        var firstPolled: Int64?
        /// The highest offset polled.
        var lastPolled: Int64?
        var waitingSince: Instant?
        var reason: String?

        var hasRecordsInHand: Bool {
            guard let lastPolled else { return false }
            return next.map { lastPolled >= $0 } ?? true
        }
    }

    public let timeout: Duration
    private var partitions: [Int32: Partition] = [:]

    public init(timeout: Duration) {
        precondition(timeout > .zero, "a stall timeout must be positive")
        self.timeout = timeout
    }

    /// The record at `offset` of `partition` was polled (again, after a rewind).
    public mutating func polled(partition: Int32, offset: Int64, at now: Instant) {
        var state = partitions[partition, default: Partition()]
        state.lastPolled = max(state.lastPolled ?? offset, offset)
        if state.next == nil { state.firstPolled = min(state.firstPolled ?? offset, offset) }
        if state.waitingSince == nil { state.waitingSince = now }
        partitions[partition] = state
    }

    /// The record at `offset` of `partition` is done with (applied, seen before, dead-lettered or skipped).
    public mutating func processed(partition: Int32, offset: Int64, at now: Instant) {
        var state = partitions[partition, default: Partition()]
        state.next = offset + 1
        state.firstPolled = nil
        state.reason = nil
        state.waitingSince = state.hasRecordsInHand ? now : nil
        partitions[partition] = state
    }

    /// `behind`: records of `partition` past the next to process (the high watermark minus it);
    /// ignored for a partition with no record processed yet.
    public mutating func lag(partition: Int32, behind: Int64, at now: Instant) {
        guard var state = partitions[partition], state.next != nil else { return }
        if behind > 0 {
            if state.waitingSince == nil { state.waitingSince = now }
        } else if !state.hasRecordsInHand {
            state.waitingSince = nil
            state.reason = nil
        }
        partitions[partition] = state
    }

    /// What keeps the record of `partition` in hand from being processed, until it is.
    public mutating func problem(partition: Int32, _ reason: String) {
        partitions[partition, default: Partition()].reason = reason
    }

    /// Forgets every partition not in `assigned` (revoked by a rebalance; one assigned again
    /// starts afresh).
    public mutating func keep(only assigned: Set<Int32>) {
        partitions = partitions.filter { assigned.contains($0.key) }
    }

    /// The partitions that have waited `timeout` or longer, by partition.
    public func stalls(at now: Instant) -> [Stall] {
        partitions.compactMap { partition, state -> Stall? in
            guard let since = state.waitingSince, now - since >= timeout else { return nil }
            return Stall(partition: partition, offset: state.next ?? state.firstPolled, waited: now - since, reason: state.reason)
        }.sorted { $0.partition < $1.partition }
    }
}
