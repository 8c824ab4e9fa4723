import Synchronization

/// The workers of a process, after swift-service-lifecycle's `ServiceGroup`: `start` starts each
/// in the order given, `stop` stops them in reverse under one shared deadline (each stop gets what
/// is left of it), and a second `stop` does nothing. A worker that ends by itself while the group
/// runs is reported to `whenAWorkerEnds` once (the daemon stops, not ready, and exits 75): a
/// process never runs on silently without one of its parts.
public final class WorkerGroup: Sendable {
    private struct State {
        var workers: [any Worker] = []
        var stopping = false
        /// Workers whose stop overran the deadline, as the stop goes.
        var overran: [String] = []
        /// The worker whose end by itself was reported.
        var ended: String?
    }

    private let state = Mutex(State())
    private let whenAWorkerEnds: @Sendable (String) -> Void
    private let logger: Logger

    /// `whenAWorkerEnds` gets the reason (`"<name> ended"`, `"<name> failed: …"`); called at most
    /// once, from the ending worker's thread, and never once `stop` has begun.
    public init(label: String = "lifecycle", whenAWorkerEnds: @escaping @Sendable (String) -> Void) {
        self.whenAWorkerEnds = whenAWorkerEnds
        logger = Logger(label: label)
    }

    /// Starts `worker` after those started before; it will be stopped before them. A worker that
    /// fails to start is not kept (stop the group to stop those before it). After `stop`, throws.
    public func start(_ worker: any Worker) throws {
        let accepted = state.withLock { state -> Bool in
            guard !state.stopping else { return false }
            state.workers.append(worker)
            return true
        }
        guard accepted else { throw WorkerGroupError(worker: worker.name) }
        do {
            try worker.start(ended: { [self, name = worker.name] end in workerEnded(name, end) })
        } catch {
            state.withLock { state in state.workers.removeAll { $0 === worker } }
            throw error
        }
    }

    /// Starts each of `workers` in order.
    public func start(_ workers: [any Worker]) throws {
        for worker in workers { try start(worker) }
    }

    /// The worker that ended by itself while the group ran (the one reported), if any.
    public var endedWorker: String? { state.withLock { $0.ended } }

    /// The workers left running by `stop` so far (their stop overran the deadline): a worker
    /// stopped after them must not free what they may still use.
    public var overran: [String] { state.withLock { $0.overran } }

    /// The names of the workers started, in start order.
    public var names: [String] { state.withLock { $0.workers.map(\.name) } }

    /// Stops every worker, the last started first, all within `timeout` from now; returns the
    /// names of those that did not end in time (left running: the process is about to exit).
    /// A worker after one that overran still gets its stop signal, with whatever time is left.
    @discardableResult
    public func stop(timeout: Duration) -> [String] {
        stop(deadline: .now + timeout)
    }

    @discardableResult
    public func stop(deadline: ContinuousClock.Instant) -> [String] {
        let workers = state.withLock { state -> [any Worker] in
            guard !state.stopping else { return [] }
            state.stopping = true
            return state.workers
        }
        for worker in workers.reversed() where !worker.stop(deadline: deadline) {
            state.withLock { $0.overran.append(worker.name) }
        }
        let overran = self.overran
        if !overran.isEmpty { logger.error("workers did not stop in time", ["workers": overran.joined(separator: ",")]) }
        return overran
    }

    private func workerEnded(_ name: String, _ end: WorkerEnd) {
        let report = state.withLock { state -> Bool in
            guard !state.stopping, state.ended == nil else { return false }
            state.ended = name
            return true
        }
        let reason = "\(name) \(end)"
        guard report else {
            logger.notice("worker ended", ["worker": name, "end": end.description])
            return
        }
        logger.error("a worker ended by itself; the process stops", ["worker": name, "end": end.description])
        whenAWorkerEnds(reason)
    }
}

/// A worker given to a group that is stopping.
public struct WorkerGroupError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public enum Code: Sendable { case stopping }
    public let code: Code = .stopping
    public let worker: String

    public var description: String { "cannot start \(worker): the process is stopping" }
    public var debugDescription: String { "WorkerGroupError(stopping, worker: \(worker))" }
}
