import Dispatch
import Synchronization

/// Why a serving process stops: a stop signal, or a part that ended by itself (the relay after
/// a fatal producer error). The first request wins; `wait` blocks until there is one.
public final class StopRequest: Sendable {
    public enum Reason: Sendable, Equatable {
        case signal(String)
        case failure(String)
    }

    private let reason = Mutex<Reason?>(nil)
    private let requested = DispatchSemaphore(value: 0)

    public init() {}

    public func request(_ why: Reason) {
        let first = reason.withLock { current -> Bool in
            guard current == nil else { return false }
            current = why
            return true
        }
        if first { requested.signal() }
    }

    public func wait() -> Reason {
        requested.wait()
        requested.signal() // stays requested for another waiter
        return reason.withLock { $0! }
    }
}
