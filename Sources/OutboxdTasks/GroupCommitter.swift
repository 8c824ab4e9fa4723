import Dispatch
import Foundation
import OutboxdCore
import OutboxdPostgres
import Synchronization

/// Group commit for `POST /tasks`: each request queues its task and waits; writer threads take what is queued (up to `maxBatch`) and write it in one statement and
/// transaction (`TaskStore.createAll`), so one WAL flush serves many requests. Each request is
/// still answered only after the commit that holds its task and event (G1). When a batch fails
/// on a row, its tasks are written one by one, so the error belongs to its own request alone;
/// when it fails for a reason of no row, it is sent again a few times, then answered 503 (`write`).
/// A task with an `Idempotency-Key` is written in the batch unless its key is held; then it is
/// written alone (`TaskStore.create`), which tells a replay from a reused key.
public final class GroupCommitter: Worker {
    public let configuration: GroupCommitConfiguration
    public let metrics: GroupCommitMetrics
    private let store: TaskStore
    private let logger = Logger(label: "group-commit")
    private let state = Mutex(State())
    /// One signal per queued task (and one per writer at stop).
    private let available = DispatchSemaphore(value: 0)
    /// The writers, each a `WorkerThread` that waits on `available`.
    private let writers: [WorkerThread]
    private let statisticsState = Mutex(Statistics())

    /// What the writers did: batches written, failed attempts of no row, tasks written one by
    /// one after an error of a row, batches answered 503.
    public struct Statistics: Sendable, Equatable {
        public var batchesWritten = 0
        public var transientFailures = 0
        public var writtenAlone = 0
        public var batchesGivenUp = 0
    }

    public var statistics: Statistics { statisticsState.withLock { $0 } }

    private struct State {
        var queue: [PendingCreate] = []
        var running = false
        var stopping = false
    }

    public init(configuration: GroupCommitConfiguration, store: TaskStore, metrics: GroupCommitMetrics = GroupCommitMetrics()) {
        self.configuration = configuration
        self.store = store
        self.metrics = metrics
        writers = (0..<configuration.writers).map { WorkerThread(name: "group-commit-\($0)") }
    }

    public let name = "group-commit"

    /// Starts the writer threads; `ended` hears of the first that ends by itself.
    public func start(ended: @escaping @Sendable (WorkerEnd) -> Void) {
        let wasNew = state.withLock { state -> Bool in
            guard !state.running, !state.stopping else { return false }
            state.running = true
            return true
        }
        guard wasNew else { return }
        let reported = Atomic<Bool>(false)
        for writer in writers {
            writer.start(ended: { end in if !reported.exchange(true, ordering: .relaxed) { ended(end) } },
                         running: { [self] _ in writerLoop() })
        }
    }

    /// Starts the writer threads.
    public func run() { start(ended: { _ in }) }

    /// Writes what is queued, then stops the writers. Later creates are written one by one.
    @discardableResult
    public func stop(deadline: ContinuousClock.Instant?) -> Bool {
        let wasRunning = state.withLock { state -> Bool in
            defer { state.stopping = true }
            return state.running && !state.stopping
        }
        guard wasRunning else { return true }
        for _ in 0..<configuration.writers { available.signal() }
        return writers.map { $0.stop(deadline: deadline) }.allSatisfy { $0 }
    }

    /// Creates `task` (its event with `trace`) in the next group transaction and returns after its commit.
    public func create(_ task: NewTask, trace: TraceContext? = nil) throws -> (task: TaskRecord, eventID: UUID) {
        switch try create(task, idempotencyKey: nil, trace: trace) {
        case .created(let record, let eventID): return (record, eventID)
        case .replayed, .keyReused: throw PostgresError(kind: .server, message: "unexpected idempotency result without a key")
        }
    }

    /// `create` with an `Idempotency-Key`: as `TaskStore.create`, after the commit that holds it.
    public func create(_ task: NewTask, idempotencyKey: String?, trace: TraceContext? = nil) throws -> TaskStore.CreateResult {
        let pending = PendingCreate(task: task, key: idempotencyKey, trace: trace)
        guard queue(pending) else { return try createAlone(pending) }
        return try pending.result()
    }

    /// Queues `task` for the next group transaction and returns at once; `completion` runs once,
    /// after the commit that holds the task and its event (or with the error of its own row, or
    /// `GroupCommitError.unavailable`), on the writer thread that wrote it. The caller's thread is
    /// free meanwhile: a request answered this way holds no HTTP worker while its commit waits, so
    /// a batch can take more requests than there are workers. When the committer is not running
    /// (stopping), the task is written alone on the caller's thread before this returns.
    public func enqueue(_ task: NewTask, idempotencyKey: String? = nil, trace: TraceContext? = nil,
                        completion: @escaping @Sendable (Result<TaskStore.CreateResult, any Error>) -> Void) {
        let pending = PendingCreate(task: task, key: idempotencyKey, trace: trace, completion: completion)
        if !queue(pending) { completion(Result { try createAlone(pending) }) }
    }

    /// Puts `pending` on the queue and wakes a writer; false when the committer takes no more.
    private func queue(_ pending: PendingCreate) -> Bool {
        let queued = state.withLock { state -> Bool in
            guard state.running, !state.stopping else { return false }
            state.queue.append(pending)
            return true
        }
        if queued { available.signal() }
        return queued
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

    /// Writes `batch` in one statement. An error of one row (`belongsToOneRow`) writes its tasks
    /// one by one, so it fails its own request alone; an error of no row (`isWorthRetrying`: a
    /// lock wait, a timeout, a lost connection) sends the batch again, at most `retries` times
    /// after `retryDelay`, then fails every request with `GroupCommitError.unavailable` (a 503);
    /// anything else fails every request with it. One by one after a transient error, each task
    /// would wait as long again on the same writer thread: minutes for the last of 128.
    private func write(_ batch: [PendingCreate]) {
        let tasks = batch.map(\.task), traces = batch.map(\.trace), keys = batch.map(\.key)
        // Kept across attempts: an attempt whose commit went unanswered is found, not written twice.
        let ids = batch.map { _ in UUID() }, eventIDs = batch.map { _ in UUID() }
        var attempts = 0
        var unanswered = false
        while true {
            attempts += 1
            do {
                let started = ContinuousClock.now
                var created = try store.createAll(tasks, ids: ids, eventIDs: eventIDs, traces: traces, keys: keys)
                // After an attempt whose answer was lost, a keyed task "held" by its own key is this
                // batch's, written by that attempt: found by its id, it was created, not replayed.
                if unanswered, created.contains(where: { $0 == nil }), let earlier = try? store.createdAll(ids: ids, eventIDs: eventIDs) {
                    created = zip(created, earlier).map { $0 ?? $1 }
                }
                metrics.writeSeconds.observe((ContinuousClock.now - started).seconds)
                metrics.batchTasks.observe(Double(batch.count))
                count(.committed)
                complete(batch, created)
                return
            } catch let error as PostgresError where error.belongsToOneRow {
                // A unique violation after an attempt whose answer was lost with the connection:
                // that attempt committed (the ids are this batch's own).
                if unanswered, let created = (try? store.createdAll(ids: ids, eventIDs: eventIDs)) ?? nil,
                   zip(batch, created).allSatisfy({ $0.key != nil || $1 != nil }) {
                    logger.notice("group commit found its batch written by an attempt whose answer was lost", ["tasks": "\(batch.count)"])
                    metrics.batchTasks.observe(Double(batch.count))
                    count(.committed)
                    complete(batch, created)
                    return
                }
                guard batch.count > 1 else {
                    batch[0].complete(.failure(error))
                    return
                }
                logger.warning("group commit failed on a row; writing its tasks one by one", ["tasks": "\(batch.count)", "error": error.description])
                writeOneByOne(batch)
                return
            } catch let error as PostgresError where error.isWorthRetrying {
                count(.retried)
                unanswered = unanswered || error.kind == .connectionUnavailable
                guard attempts <= configuration.retries else {
                    logger.warning("group commit gave up; answering 503", ["tasks": "\(batch.count)", "attempts": "\(attempts)", "error": error.description])
                    count(.givenUp)
                    let failure = GroupCommitError(code: .unavailable, attempts: attempts, underlying: error)
                    for pending in batch { pending.complete(.failure(failure)) }
                    return
                }
                let delay = Self.retryDelay * (1 << (attempts - 1))
                Thread.sleep(forTimeInterval: Double(delay.wholeMilliseconds) / 1000 * Double.random(in: 0.5...1.5))
            } catch {
                for pending in batch { pending.complete(.failure(error)) }
                return
            }
        }
    }

    /// Answers each request of a committed batch; a keyed task the batch did not write (its key
    /// was held) is written alone, which answers it as a replay, a reused key, or created.
    private func complete(_ batch: [PendingCreate], _ created: [(task: TaskRecord, eventID: UUID)?]) {
        for (pending, result) in zip(batch, created) {
            if let result {
                pending.complete(.success(.created(result.task, eventID: result.eventID)))
            } else {
                count(.taskAlone)
                pending.complete(Result { try createAlone(pending) })
            }
        }
    }

    /// The tasks of a batch that failed on a row, each in its own transaction. Once one fails
    /// for a reason of no row, the rest are answered with it too instead of waiting in turn.
    private func writeOneByOne(_ batch: [PendingCreate]) {
        var unavailable: GroupCommitError?
        for pending in batch {
            if let unavailable {
                pending.complete(.failure(unavailable))
                continue
            }
            count(.taskAlone)
            do {
                pending.complete(.success(try createAlone(pending)))
            } catch let error as PostgresError where error.isWorthRetrying && !error.belongsToOneRow {
                let failure = GroupCommitError(code: .unavailable, attempts: 1, underlying: error)
                unavailable = failure
                pending.complete(.failure(failure))
            } catch {
                pending.complete(.failure(error))
            }
        }
    }

    /// The first wait before a batch is sent again; it doubles per attempt (±50 % jitter).
    static let retryDelay: Duration = .milliseconds(20)

    /// A write's result, as `outboxd_group_commit_writes_total` labels it.
    private enum Write: String {
        case committed, retried
        case givenUp = "given_up"
        case taskAlone = "task_alone"
    }

    private func count(_ write: Write) {
        statisticsState.withLock { statistics in
            switch write {
            case .committed: statistics.batchesWritten += 1
            case .retried: statistics.transientFailures += 1
            case .givenUp: statistics.batchesGivenUp += 1
            case .taskAlone: statistics.writtenAlone += 1
            }
        }
        metrics.writes.increment([write.rawValue])
    }

    private func createAlone(_ pending: PendingCreate) throws -> TaskStore.CreateResult {
        try store.create(pending.task, idempotencyKey: pending.key, trace: pending.trace)
    }
}

/// A queued create and who hears its result: a waiting thread (`result`), or a completion
/// (`GroupCommitter.enqueue`) run by the writer that completes it.
final class PendingCreate: Sendable {
    typealias Outcome = Result<TaskStore.CreateResult, any Error>

    let task: NewTask
    /// The request's `Idempotency-Key`, if any.
    let key: String?
    let trace: TraceContext?
    private let outcome = Mutex<Outcome?>(nil)
    private let done = DispatchSemaphore(value: 0)
    private let completion: (@Sendable (Outcome) -> Void)?

    init(task: NewTask, key: String?, trace: TraceContext?, completion: (@Sendable (Outcome) -> Void)? = nil) {
        self.task = task
        self.key = key
        self.trace = trace
        self.completion = completion
    }

    func complete(_ result: Outcome) {
        if let completion { return completion(result) }
        outcome.withLock { $0 = result }
        done.signal()
    }

    func result() throws -> TaskStore.CreateResult {
        precondition(completion == nil, "a create with a completion is not waited for")
        done.wait()
        return try outcome.withLock { $0! }.get()
    }
}
