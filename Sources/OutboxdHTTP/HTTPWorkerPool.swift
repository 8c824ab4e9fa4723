import Foundation
import OutboxdCore
import Synchronization

/// A fixed set of threads that run jobs in arrival order: the HTTP server's handlers, which
/// block on PostgreSQL. However many connections are open, at most `size` handlers run at once;
/// the rest queue. Each thread's current job start is kept, so a handler that makes no progress
/// can be told from a server that is only busy.
final class HTTPWorkerPool: Sendable {
    typealias Job = @Sendable () -> Void

    private struct State {
        var queue: [Job] = []
        var head = 0
        var stopping = false
        /// Per thread: when its current job began (nil while idle).
        var busySince: [ContinuousClock.Instant?]
    }

    private let state: Mutex<State>
    private let available = DispatchSemaphore(value: 0)
    private let threads: [WorkerThread]
    let size: Int

    init(size: Int, name: String) {
        self.size = size
        state = Mutex(State(busySince: Array(repeating: nil, count: size)))
        threads = (0..<size).map { WorkerThread(name: "\(name)-\($0)") }
        for (index, thread) in threads.enumerated() {
            // Ends only through `stop`, which wakes it through `available`, not the stop signal.
            thread.start(ended: { _ in }, running: { [self] _ in work(index) })
        }
    }

    func submit(_ job: @escaping Job) {
        state.withLock { $0.queue.append(job) }
        available.signal()
    }

    /// Jobs waiting for a thread.
    var queued: Int { state.withLock { $0.queue.count - $0.head } }

    /// Threads running a job now, and since when the oldest has run.
    var busy: (count: Int, oldestSince: ContinuousClock.Instant?) {
        state.withLock { state in
            let since = state.busySince.compactMap { $0 }
            return (since.count, since.min())
        }
    }

    /// Lets queued jobs finish, then ends the threads (waiting for them).
    func stop() {
        let first = state.withLock { state -> Bool in
            defer { state.stopping = true }
            return !state.stopping
        }
        guard first else { return }
        for _ in 0..<size { available.signal() }
        for thread in threads { thread.stop(deadline: nil) }
    }

    private func work(_ index: Int) {
        while true {
            available.wait()
            let job = state.withLock { state -> Job? in
                guard state.head < state.queue.count else { return nil }
                let job = state.queue[state.head]
                state.head += 1
                if state.head > 1024, state.head * 2 > state.queue.count {
                    state.queue.removeFirst(state.head)
                    state.head = 0
                }
                state.busySince[index] = .now
                return job
            }
            guard let job else {
                if state.withLock({ $0.stopping && $0.head >= $0.queue.count }) { return }
                continue
            }
            job()
            state.withLock { $0.busySince[index] = nil }
        }
    }
}
