import Dispatch
import Synchronization

/// Coalesced wake-ups for the relay: any number of `wake()` calls between two waits count once.
public final class RelayWakeup: Sendable {
    private let pending = Atomic<Bool>(false)
    private let semaphore = DispatchSemaphore(value: 0)

    public init() {}

    /// Called after a commit that wrote outbox rows; never blocks.
    public func wake() {
        if !pending.exchange(true, ordering: .acquiringAndReleasing) { semaphore.signal() }
    }

    /// Returns after a wake-up or `timeout`.
    func wait(timeout: Duration) {
        let nanoseconds = Int(timeout.components.seconds) * 1_000_000_000 + Int(timeout.components.attoseconds / 1_000_000_000)
        _ = semaphore.wait(timeout: .now() + .nanoseconds(nanoseconds))
        pending.store(false, ordering: .releasing)
    }
}
