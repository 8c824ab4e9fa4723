import Dispatch
import Foundation
import OutboxdCore
import OutboxdPostgres
import Synchronization

/// Group commit for `POST /tasks` without an Idempotency-Key: each request queues its task and
/// waits; writer threads take what is queued (up to `maxBatch`) and write it in one statement and
/// transaction (`TaskStore.createAll`), so one WAL flush serves many requests. Each request is
/// still answered only after the commit that holds its task and event (G1). When a batch fails,
/// its tasks are written one by one, so an error belongs to its own request alone.
public final class GroupCommitter: Sendable {
    public let configuration: GroupCommitConfiguration
    private let store: TaskStore
    private let logger = Logger(label: "group-commit")
    private let state = Mutex(State())
    /// One signal per queued task (and one per writer at stop).
    private let available = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    private struct State {
        var queue: [PendingCreate] = []
        var running = false
        var stopping = false
    }

    public init(configuration: GroupCommitConfiguration, store: TaskStore) {
        self.configuration = configuration
        self.store = store
    }

    /// Starts the writer threads.
    public func run() {
        state.withLock { $0.running = true }
        for index in 0..<configuration.writers {
            let thread = Thread { [self] in
                writerLoop()
                finished.signal()
            }
            thread.name = "group-commit-\(index)"
            thread.start()
        }
    }

    /// Writes what is queued, then stops the writers. Later creates are written one by one.
    public func stop() {
        let wasRunning = state.withLock { state -> Bool in
            defer { state.stopping = true }
            return state.running && !state.stopping
        }
        guard wasRunning else { return }
        for _ in 0..<configuration.writers { available.signal() }
        for _ in 0..<configuration.writers { finished.wait() }
    }

    /// Creates `task` in the next group transaction and returns after its commit.
    public func create(_ task: NewTask) throws -> (task: TaskRecord, eventID: UUID) {
        let pending = PendingCreate(task: task)
        let queued = state.withLock { state -> Bool in
            guard state.running, !state.stopping else { return false }
            state.queue.append(pending)
            return true
        }
        guard queued else { return try createAlone(task) }
        available.signal()
        return try pending.result()
    }

    private func writerLoop() {
        while true {
            available.wait()
            var batch = take()
            if batch.isEmpty {
                if state.withLock({ $0.stopping && $0.queue.isEmpty }) { return }
                continue
            }
            if configuration.window > .zero, batch.count < configuration.maxBatch {
                Thread.sleep(forTimeInterval: Double(configuration.window.wholeMilliseconds) / 1000)
                batch += take(upTo: configuration.maxBatch - batch.count)
            }
            // Consume the signals of the tasks taken beyond the one that woke this writer; one
            // still missing (its request signals just after queueing) only causes an empty wake-up.
            for _ in 1..<batch.count { _ = available.wait(timeout: .now()) }
            write(batch)
        }
    }

    private func take(upTo limit: Int? = nil) -> [PendingCreate] {
        state.withLock { state in
            let count = min(limit ?? configuration.maxBatch, state.queue.count)
            defer { state.queue.removeFirst(count) }
            return Array(state.queue.prefix(count))
        }
    }

    private func write(_ batch: [PendingCreate]) {
        do {
            let created = try store.createAll(batch.map(\.task))
            for (pending, result) in zip(batch, created) { pending.complete(.success(result)) }
        } catch {
            if batch.count > 1 { logger.warning("group commit failed; writing its tasks one by one", ["tasks": "\(batch.count)", "error": "\(error)"]) }
            for pending in batch {
                pending.complete(batch.count == 1 ? .failure(error) : Result { try createAlone(pending.task) })
            }
        }
    }

    private func createAlone(_ task: NewTask) throws -> (task: TaskRecord, eventID: UUID) {
        switch try store.create(task, idempotencyKey: nil) {
        case .created(let record, let eventID): return (record, eventID)
        case .replayed, .keyReused: throw PostgresError(kind: .server, message: "unexpected idempotency result without a key")
        }
    }
}

/// A queued create and its result; the request thread waits on it.
final class PendingCreate: Sendable {
    let task: NewTask
    private let outcome = Mutex<Result<(task: TaskRecord, eventID: UUID), any Error>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(task: NewTask) { self.task = task }

    func complete(_ result: Result<(task: TaskRecord, eventID: UUID), any Error>) {
        outcome.withLock { $0 = result }
        done.signal()
    }

    func result() throws -> (task: TaskRecord, eventID: UUID) {
        done.wait()
        return try outcome.withLock { $0! }.get()
    }
}
