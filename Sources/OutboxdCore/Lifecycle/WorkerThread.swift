import Dispatch
import Foundation
import Synchronization

/// A named thread that runs a body until it returns, fails or is asked to stop: the one way
/// outboxd starts and stops a thread. The body gets a `StopSignal` to check and wait on; `stop`
/// signals it and waits for the thread, at
/// most until a deadline; `stop` before `start`, or twice, returns at once. A body that returns
/// or throws while not asked to stop is reported to `start`'s `ended` handler.
public final class WorkerThread: Worker {
    public let name: String
    public let signal: StopSignal
    private let body: (@Sendable (StopSignal) throws -> Void)?
    private let state = Mutex(WorkerState())
    private let finished = DispatchSemaphore(value: 0)
    private let logger: Logger

    /// `wakeup`: the one `stop` wakes (share it with the body's other wake-ups; a body that waits
    /// on something else, a semaphore say, is woken by its owner after `stop`'s signal).
    /// Without `body`, the body is given to `start(ended:running:)` (for an owner whose body is
    /// one of its own methods, which its initialiser cannot capture yet).
    public init(name: String, wakeup: Wakeup = Wakeup(), body: (@Sendable (StopSignal) throws -> Void)? = nil) {
        self.name = name
        signal = StopSignal(wakeup: wakeup)
        self.body = body
        logger = Logger(label: name)
    }

    /// Where the worker is in its lifecycle.
    public var phase: WorkerState.Phase { state.withLock { $0.phase } }

    public func start(ended: @escaping @Sendable (WorkerEnd) -> Void) {
        guard let body else { preconditionFailure("WorkerThread \(name) has no body: start it with start(ended:running:)") }
        start(ended: ended, running: body)
    }

    /// Starts the thread running `body` (the first call only; none after a stop).
    public func start(ended: @escaping @Sendable (WorkerEnd) -> Void, running body: @escaping @Sendable (StopSignal) throws -> Void) {
        guard state.withLock({ $0.start() }) else { return }
        let thread = Thread { [self] in
            let end: WorkerEnd
            do {
                try body(signal)
                end = .returned
            } catch {
                end = .failed("\(error)")
            }
            let byItself = state.withLock { $0.ended(end) }
            finished.signal()
            if byItself { ended(end) } else if case .failed(let why) = end { logger.warning("failed while stopping", ["error": why]) }
        }
        thread.name = name
        thread.start()
    }

    @discardableResult
    public func stop(deadline: ContinuousClock.Instant?) -> Bool {
        guard state.withLock({ $0.stop() }) == .signalAndWait else { return true }
        signal.request()
        let wait: DispatchTime = deadline.map { max($0 - .now, .zero).fromNow } ?? .distantFuture
        guard finished.wait(timeout: wait) == .success else {
            logger.error("did not stop in time; left running", ["thread": name])
            return false
        }
        return true
    }
}
