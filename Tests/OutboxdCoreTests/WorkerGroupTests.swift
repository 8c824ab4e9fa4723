import Dispatch
import Foundation
import OutboxdCore
import Synchronization
import Testing

/// `WorkerGroup` and `WorkerThread`: start order, reverse stop under one deadline, harmless
/// repeated stops, and a worker that ends by itself set off the group's policy.
@Suite struct WorkerGroupTests {
    @Test func startsInOrderAndStopsInReverse() throws {
        let journal = Journal()
        let group = WorkerGroup(whenAWorkerEnds: { journal.add("policy \($0)") })
        try group.start([RecordingWorker("a", journal), RecordingWorker("b", journal)])
        try group.start(RecordingWorker("c", journal))
        #expect(group.names == ["a", "b", "c"])
        group.stop(timeout: .seconds(5))
        #expect(journal.entries == ["start a", "start b", "start c", "stop c", "stop b", "stop a"])
    }

    @Test func everyStopGetsWhatIsLeftOfOneDeadline() throws {
        let journal = Journal()
        let group = WorkerGroup(whenAWorkerEnds: { journal.add("policy \($0)") })
        let first = RecordingWorker("first", journal, onStop: { [group] in journal.add("first sees \(group.overran) left running") })
        let release = DispatchSemaphore(value: 0)
        // Ignores its stop signal until released: it overruns any deadline.
        let slow = WorkerThread(name: "slow") { _ in release.wait() }
        let last = RecordingWorker("last", journal)
        try group.start([first, slow, last])
        let deadline = ContinuousClock.now + .milliseconds(200)
        let overran = try onAnotherThread { group.stop(deadline: deadline) }
        release.signal()
        #expect(overran == ["slow"])
        #expect(last.deadlines == [deadline])
        #expect(first.deadlines == [deadline], "the worker after the overrun gets the same deadline, not a fresh timeout")
        #expect(journal.entries == ["start first", "start last", "stop last", "stop first", "first sees [\"slow\"] left running"],
                "a worker stopped after one left running knows it (the producer then keeps its handle)")
        #expect(group.overran == ["slow"])
    }

    @Test func aSecondStopIsHarmless() throws {
        let journal = Journal()
        let group = WorkerGroup(whenAWorkerEnds: { journal.add("policy \($0)") })
        let thread = WorkerThread(name: "loop") { signal in
            while !signal.wait(timeout: .seconds(3600)) {}
        }
        try group.start([RecordingWorker("a", journal), thread])
        let overran = try onAnotherThread { group.stop(timeout: .seconds(20)) + group.stop(timeout: .seconds(20)) }
        #expect(overran.isEmpty)
        #expect(journal.entries == ["start a", "stop a"])
        #expect(thread.phase == .stopped)
        #expect(throws: WorkerGroupError.self) { try group.start(RecordingWorker("late", journal)) }
        #expect(try onAnotherThread { thread.stop(deadline: nil) }, "a stopped thread's stop returns at once")
    }

    @Test func stopBeforeStartReturnsAndNeverRuns() throws {
        let ran = Atomic<Bool>(false)
        let thread = WorkerThread(name: "never") { _ in ran.store(true, ordering: .relaxed) }
        #expect(try onAnotherThread { thread.stop(deadline: nil) && thread.stop(deadline: nil) })
        thread.start(ended: { _ in })
        #expect(thread.phase == .stopped)
        let didRun = ran.load(ordering: .relaxed)
        #expect(!didRun)
        let group = WorkerGroup(whenAWorkerEnds: { _ in })
        #expect(try onAnotherThread { group.stop(timeout: .seconds(1)) }.isEmpty)
    }

    @Test func aWorkerThatFailsSetsOffThePolicyOnce() throws {
        let reasons = Journal()
        let reported = DispatchSemaphore(value: 0)
        let group = WorkerGroup(whenAWorkerEnds: { reasons.add($0); reported.signal() })
        let steady = WorkerThread(name: "steady") { signal in
            while !signal.wait(timeout: .seconds(3600)) {}
        }
        let failing = WorkerThread(name: "consumer-audit") { _ in throw Failure(text: "no broker") }
        try group.start([steady, failing])
        #expect(reported.wait(timeout: .now() + 20) == .success)
        #expect(reasons.entries == ["consumer-audit failed: no broker"])
        #expect(failing.phase == .failed("no broker"))
        #expect(steady.phase == .running, "the policy decides what stops, not the group by itself")
        #expect(try onAnotherThread { group.stop(timeout: .seconds(20)) }.isEmpty)
        #expect(steady.phase == .stopped)
        #expect(reasons.entries.count == 1)
    }

    @Test func aWorkerThatReturnsWhileRunningSetsOffThePolicy() throws {
        let reported = DispatchSemaphore(value: 0)
        let reasons = Journal()
        let group = WorkerGroup(whenAWorkerEnds: { reasons.add($0); reported.signal() })
        try group.start(WorkerThread(name: "relay") { _ in })
        #expect(reported.wait(timeout: .now() + 20) == .success)
        #expect(reasons.entries == ["relay ended"])
    }

    @Test func anEndDuringStopIsNotReported() throws {
        let reasons = Journal()
        let group = WorkerGroup(whenAWorkerEnds: { reasons.add($0) })
        let thread = WorkerThread(name: "stops-with-error") { signal in
            while !signal.wait(timeout: .seconds(3600)) {}
            throw Failure(text: "lost the connection on the way out")
        }
        try group.start(thread)
        _ = try onAnotherThread { group.stop(timeout: .seconds(20)) }
        #expect(thread.phase == .failed("lost the connection on the way out"))
        #expect(reasons.entries.isEmpty)
    }

    @Test func aWorkerThatCannotStartIsNotStopped() throws {
        let journal = Journal()
        let group = WorkerGroup(whenAWorkerEnds: { _ in })
        try group.start(RecordingWorker("a", journal))
        #expect(throws: Failure.self) { try group.start(RecordingWorker("broken", journal, startFails: true)) }
        group.stop(timeout: .seconds(5))
        #expect(journal.entries == ["start a", "start broken", "stop a"])
    }
}

private struct Failure: Error, CustomStringConvertible {
    let text: String
    var description: String { text }
}

private final class Journal: Sendable {
    private let lines = Mutex<[String]>([])
    func add(_ line: String) { lines.withLock { $0.append(line) } }
    var entries: [String] { lines.withLock { $0 } }
}

/// Writes its start and stop to the journal and remembers the deadline of each stop.
private final class RecordingWorker: Worker {
    let name: String
    private let journal: Journal
    private let startFails: Bool
    private let onStop: @Sendable () -> Void
    private let stops = Mutex<[ContinuousClock.Instant?]>([])

    init(_ name: String, _ journal: Journal, startFails: Bool = false, onStop: @escaping @Sendable () -> Void = {}) {
        self.name = name
        self.journal = journal
        self.startFails = startFails
        self.onStop = onStop
    }

    var deadlines: [ContinuousClock.Instant?] { stops.withLock { $0 } }

    func start(ended: @escaping @Sendable (WorkerEnd) -> Void) throws {
        journal.add("start \(name)")
        if startFails { throw Failure(text: "cannot start") }
    }

    func stop(deadline: ContinuousClock.Instant?) -> Bool {
        journal.add("stop \(name)")
        stops.withLock { $0.append(deadline) }
        onStop()
        return true
    }
}

/// Runs `body` on a thread of its own and fails the test instead of hanging when it does not return.
private func onAnotherThread<T: Sendable>(_ body: @escaping @Sendable () -> T) throws -> T {
    let result = Mutex<T?>(nil)
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
        let value = body()
        result.withLock { $0 = value }
        done.signal()
    }
    guard done.wait(timeout: .now() + 30) == .success else { throw Failure(text: "hung") }
    return result.withLock { $0! }
}
