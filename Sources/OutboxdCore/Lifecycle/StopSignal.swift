import Synchronization

/// What a `WorkerThread`'s body is given: whether it has been asked to stop, and a `Wakeup` that
/// `stop` wakes, so a body that waits (for a socket, a backoff, more work) wakes up at once.
public final class StopSignal: Sendable {
    /// Woken on stop; the body may share it with other wake-ups of its own.
    public let wakeup: Wakeup
    private let requested = Atomic<Bool>(false)

    public init(wakeup: Wakeup = Wakeup()) {
        self.wakeup = wakeup
    }

    public var isStopping: Bool { requested.load(ordering: .acquiring) }

    /// Waits for a stop, a wake-up or `timeout`; true when stopping.
    @discardableResult
    public func wait(timeout: Duration) -> Bool {
        guard !isStopping else { return true }
        wakeup.wait(timeout: timeout)
        return isStopping
    }

    func request() {
        requested.store(true, ordering: .releasing)
        wakeup.wake()
    }
}
