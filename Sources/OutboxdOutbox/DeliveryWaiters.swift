import Foundation
import Synchronization

/// Requests waiting for their event's delivery report (`Prefer: wait=N`), told by the relay of
/// this process right after the batch that marked the event committed.
public final class DeliveryWaiters: Sendable {
    public typealias Report = (partition: Int32, offset: Int64)

    private let waiting = Mutex<[UUID: @Sendable (Report) -> Void]>([:])

    public init() {}

    /// `delivered` runs once, on the relay's thread, if the report comes before `remove`.
    public func register(_ eventID: UUID, _ delivered: @escaping @Sendable (Report) -> Void) {
        waiting.withLock { $0[eventID] = delivered }
    }

    public func remove(_ eventID: UUID) {
        _ = waiting.withLock { $0.removeValue(forKey: eventID) }
    }

    var isEmpty: Bool { waiting.withLock { $0.isEmpty } }

    func complete(_ delivered: [(eventID: UUID, partition: Int32, offset: Int64)]) {
        let woken = waiting.withLock { waiting in
            delivered.compactMap { item in waiting.removeValue(forKey: item.eventID).map { ($0, item) } }
        }
        for (callback, item) in woken { callback((item.partition, item.offset)) }
    }
}
