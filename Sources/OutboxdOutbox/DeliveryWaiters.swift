import Dispatch
import Foundation
import OutboxdCore
import Synchronization

/// Requests waiting for their event's delivery report (`Prefer: wait=N`). The relay completes
/// them after the batch that marked the event committed.
public final class DeliveryWaiters: Sendable {
    /// One waiting request.
    public final class Waiter: Sendable {
        fileprivate let semaphore = DispatchSemaphore(value: 0)
        fileprivate let result = Mutex<(partition: Int32, offset: Int64)?>(nil)

        /// Waits up to `timeout`; the partition and offset, or nil.
        public func wait(timeout: Duration) -> (partition: Int32, offset: Int64)? {
            _ = semaphore.wait(timeout: timeout.fromNow)
            return result.withLock { $0 }
        }
    }

    private let waiting = Mutex<[UUID: Waiter]>([:])

    public init() {}

    public func register(_ eventID: UUID) -> Waiter {
        let waiter = Waiter()
        waiting.withLock { $0[eventID] = waiter }
        return waiter
    }

    public func remove(_ eventID: UUID) {
        _ = waiting.withLock { $0.removeValue(forKey: eventID) }
    }

    var isEmpty: Bool { waiting.withLock { $0.isEmpty } }

    func complete(_ delivered: [(eventID: UUID, partition: Int32, offset: Int64)]) {
        let woken = waiting.withLock { waiting in
            delivered.compactMap { item in waiting.removeValue(forKey: item.eventID).map { ($0, item) } }
        }
        for (waiter, item) in woken {
            waiter.result.withLock { $0 = (item.partition, item.offset) }
            waiter.semaphore.signal()
        }
    }
}
