import Foundation
import OutboxdCore
import OutboxdKafka
import Testing
@testable import OutboxdOutbox

@Suite struct BackoffTests {
    @Test func doublesWithJitterUpToTheMaximum() {
        let backoff = Backoff(base: .milliseconds(100), maximum: .seconds(1))
        #expect(backoff.delay(afterFailures: 1, jitter: 1) == .milliseconds(100))
        #expect(backoff.delay(afterFailures: 1, jitter: 0) == .milliseconds(50))
        #expect(backoff.delay(afterFailures: 3, jitter: 1) == .milliseconds(400))
        #expect(backoff.delay(afterFailures: 10, jitter: 1) == .seconds(1))
        #expect(backoff.delay(afterFailures: 1000, jitter: 0.5) == .milliseconds(750))
    }
}

@Suite struct RelayBatchOutcomeTests {
    let error = KafkaError(code: .init(rawValue: 10, name: "MSG_SIZE_TOO_LARGE"), message: "too large", context: "delivery")

    func row(_ id: Int64, _ key: String, attempts: Int = 0) -> OutboxRow {
        OutboxRow(id: id, eventID: UUID(), aggregateID: key, attempts: attempts)
    }

    @Test func laterRowsOfAFailedKeyAreHeldOthersMarked() {
        let rows = [row(1, "a"), row(2, "b", attempts: 2), row(3, "a"), row(4, "c"), row(5, "b")]
        let outcome = RelayBatchOutcome(rows: rows, results: [
            .delivered(partition: 0, offset: 10), .failed(error), .delivered(partition: 0, offset: 11),
            .unknown, .delivered(partition: 1, offset: 7),
        ])
        #expect(outcome.delivered.map(\.id) == [1, 3])
        #expect(outcome.delivered.map(\.offset) == [10, 11])
        #expect(outcome.failed.map(\.id) == [2, 4])
        #expect(outcome.failed.map(\.attempts) == [3, 1])
        #expect(outcome.failed[0].error.contains("MSG_SIZE_TOO_LARGE"))
        #expect(outcome.failed[1].error.contains("no delivery report"))
        #expect(outcome.failed.map(\.reason) == ["MSG_SIZE_TOO_LARGE", "NO_REPORT"])
        #expect(outcome.deliveredPerTopic == ["task-events": 2])
        #expect(outcome.held == [5])
        #expect(outcome.blockedKeys == ["b", "c"])
    }

    @Test func latencyRunsFromEachRowsCreationToTheReports() {
        let created = Timestamp(microsecondsSinceEpoch: 1_000_000_000)
        let rows = [OutboxRow(id: 1, eventID: UUID(), aggregateID: "a", createdAt: created),
                    OutboxRow(id: 2, eventID: UUID(), aggregateID: "b", createdAt: Timestamp(microsecondsSinceEpoch: 1_000_250_000)),
                    OutboxRow(id: 3, eventID: UUID(), aggregateID: "c", createdAt: created)]
        let outcome = RelayBatchOutcome(rows: rows, results: [.delivered(partition: 0, offset: 1), .delivered(partition: 0, offset: 2), .unknown],
                                        reportedBy: Timestamp(microsecondsSinceEpoch: 1_000_500_000))
        #expect(outcome.latencies == [0.5, 0.25])
    }

    /// A batch claimed while the one before was in flight holds the keys that one blocked, even
    /// when its own rows of those keys were delivered (they are re-sent after the failed row).
    @Test func keysBlockedByThePreviousBatchAreHeld() {
        let rows = [row(7, "a"), row(8, "x"), row(9, "a")]
        let results: [DeliveryResult] = [.delivered(partition: 0, offset: 1), .delivered(partition: 0, offset: 2), .delivered(partition: 0, offset: 3)]
        let outcome = RelayBatchOutcome(rows: rows, results: results, heldKeys: ["a"])
        #expect(outcome.delivered.map(\.id) == [8])
        #expect(outcome.held == [7, 9])
        #expect(outcome.failed.isEmpty)
        #expect(outcome.blockedKeys == ["a"])
        #expect(RelayBatchOutcome(rows: rows, results: results).held.isEmpty)
    }
}
