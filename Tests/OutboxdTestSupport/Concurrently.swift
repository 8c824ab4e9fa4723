import Foundation
import Synchronization

/// Runs `body(0..<count)` on `count` threads of their own and waits for all of them. Tests block,
/// and Dispatch's global queues are the ones Swift Testing runs them on, so workers that must
/// really run at the same time get threads, not queue slots.
public func concurrently(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let done = DispatchSemaphore(value: 0)
    for index in 0..<count {
        Thread.detachNewThread {
            body(index)
            done.signal()
        }
    }
    for _ in 0..<count { done.wait() }
}

/// Values collected from concurrent workers.
public final class Collected<Value: Sendable>: Sendable {
    private let items = Mutex<[Value]>([])
    public init() {}
    public func add(_ item: Value) { items.withLock { $0.append(item) } }
    public var all: [Value] { items.withLock { $0 } }
}
