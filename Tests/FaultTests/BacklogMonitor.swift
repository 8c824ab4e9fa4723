import Foundation
import OutboxdPostgres
import OutboxdTestSupport
import Synchronization

/// Samples the outbox backlog (rows still to publish) on a connection of its own until stopped;
/// a failed sample (the database is down) is skipped and the connection opened again.
final class BacklogMonitor: Sendable {
    struct Sample: Sendable {
        let at: ContinuousClock.Instant
        let pending: Int
    }

    private let url: String
    private let interval: Duration
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let recorded = Collected<Sample>()

    init(url: String, interval: Duration = .milliseconds(100)) {
        self.url = url
        self.interval = interval
    }

    func start() {
        Thread.detachNewThread { [self] in
            var connection: PQConnection?
            while !stopping.load(ordering: .relaxed) {
                do {
                    if connection == nil { connection = try PQConnection(conninfo: url, connectTimeoutSeconds: 2) }
                    if let pending = try connection?.query(FaultRig.pendingSQL).first?.decode(Int.self, at: 0) {
                        recorded.add(Sample(at: .now, pending: pending))
                    }
                } catch {
                    connection?.close()
                    connection = nil
                }
                Thread.sleep(forTimeInterval: interval.seconds)
            }
            connection?.close()
            finished.signal()
        }
    }

    @discardableResult
    func stop() -> [Sample] {
        stopping.store(true, ordering: .relaxed)
        finished.wait()
        return recorded.all
    }

    var samples: [Sample] { recorded.all }

    /// The largest backlog sampled in `range` (0 when none was).
    func maximum(in range: Range<ContinuousClock.Instant>) -> Int {
        samples.filter { range.contains($0.at) }.map(\.pending).max() ?? 0
    }

    /// The first sample at or after `start` with a backlog of at most `limit`.
    func first(atMost limit: Int, after start: ContinuousClock.Instant) -> Sample? {
        samples.first { $0.at >= start && $0.pending <= limit }
    }
}
