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

    func delivered(_ partition: Int32, _ offset: Int64, at reportedAt: Timestamp = Timestamp(microsecondsSinceEpoch: 0)) -> DeliveryResult {
        .delivered(partition: partition, offset: offset, reportedAt: reportedAt)
    }

    func row(_ id: Int64, _ key: String, attempts: Int = 0) -> OutboxRow {
        OutboxRow(id: id, eventID: UUID(), aggregateID: key, attempts: attempts)
    }

    /// No duplicate without a fault: a row whose report says delivered is recorded delivered,
    /// also after an earlier row of its key failed (issue #28: it used to be held and sent again).
    @Test func aDeliveredRowIsRecordedDeliveredWhateverFailedBeforeIt() {
        let rows = [row(1, "a"), row(2, "b", attempts: 2), row(3, "a"), row(4, "c"), row(5, "b")]
        let outcome = RelayBatchOutcome(rows: rows, results: [
            delivered(0, 10), .failed(error), delivered(0, 11),
            .unknown, delivered(1, 7),
        ])
        #expect(outcome.delivered.map(\.id) == [1, 3, 5])
        #expect(outcome.delivered.map(\.offset) == [10, 11, 7])
        #expect(outcome.failed.map(\.id) == [2])
        #expect(outcome.failed.map(\.attempts) == [3])
        #expect(outcome.failed[0].error.contains("MSG_SIZE_TOO_LARGE"))
        #expect(outcome.failed.map(\.reason) == ["MSG_SIZE_TOO_LARGE"])
        #expect(outcome.failed.map(\.park) == [true], "too large is permanent")
        #expect(outcome.deliveredPerTopic == ["task-events": 3])
        // No report yet (4): its message may still arrive, so it is not a failed attempt.
        #expect(outcome.held == [4])
        #expect(outcome.blockedKeys == ["b", "c"])
        #expect(outcome.orderGaps.isEmpty, "a parked row leaves no gap: it is never sent")
    }

    /// A row delivered after an earlier row of its key failed with an error that is retried is in
    /// Kafka ahead of that row's retry: recorded delivered all the same, and counted as a gap.
    @Test func aDeliveryAfterARetriedFailureOfItsKeyIsAGap() {
        let timeout = KafkaError(code: .init(rawValue: -192, name: "_MSG_TIMED_OUT"), message: "timed out", context: "delivery")
        let rows = [row(1, "a"), row(2, "a"), row(3, "b")]
        let outcome = RelayBatchOutcome(rows: rows, results: [.failed(timeout), delivered(0, 4), delivered(0, 5)])
        #expect(outcome.failed.map(\.id) == [1])
        #expect(outcome.failed.map(\.park) == [false])
        #expect(outcome.delivered.map(\.id) == [2, 3])
        #expect(outcome.orderGaps == [2])
    }

    /// Rows the producer never took (an earlier row of their chain failed at once) are held with
    /// no attempt counted, and block their key.
    @Test func rowsNotProducedAreHeld() {
        let rows = [row(1, "a"), row(2, "a"), row(3, "b")]
        let outcome = RelayBatchOutcome(rows: rows, results: [.failed(error), .notProduced, delivered(0, 1)])
        #expect(outcome.failed.map(\.id) == [1])
        #expect(outcome.held == [2])
        #expect(outcome.delivered.map(\.id) == [3])
        #expect(outcome.blockedKeys == ["a"])
        #expect(outcome.orderGaps.isEmpty)
    }

    /// The plan: an unreadable or oversized row is parked without being produced, a row past the
    /// claim's bytes is held, and each blocks the later rows of its key; a later row of a key bound
    /// elsewhere (another topic or partition) waits for the next claim; keys the batch before
    /// blocked are held.
    @Test func planParksProblemRowsAndHoldsWhatCouldOvertake() {
        let rows = [
            OutboxRow(id: 1, eventID: UUID(), aggregateID: "a", problem: .unreadable("column \"created_at\" is not a valid Timestamp")),
            row(2, "a"),
            OutboxRow(id: 3, eventID: UUID(), aggregateID: "b", problem: .tooLarge(size: 30_000_000, limit: 16 << 20)),
            row(4, "c"),
            OutboxRow(id: 5, eventID: UUID(), aggregateID: "c", partition: 3),
            row(6, "c"),
            OutboxRow(id: 7, eventID: UUID(), aggregateID: "d", problem: .deferred),
            row(8, "d"),
            row(9, "e"),
            row(10, "f"),
            row(11, "f"),
        ]
        let plan = RelayBatchOutcome.plan(rows, heldKeys: ["e"])
        #expect(plan.map { $0 == .produce } == [false, false, false, true, false, false, false, false, false, true, true])
        guard case .park(let reason, let code) = plan[0] else { Issue.record("row 1 is parked"); return }
        #expect(reason.contains("created_at") && code == "UNREADABLE_ROW")
        guard case .park(let tooLarge, "PAYLOAD_OVER_BATCH_BYTES") = plan[2] else { Issue.record("row 3 is parked"); return }
        #expect(tooLarge.contains("30000000 bytes") && tooLarge.contains("RELAY_BATCH_BYTES"))
        #expect(plan[6] == .hold && plan[7] == .hold && plan[8] == .hold)
        let outcome = RelayBatchOutcome(rows: rows, dispositions: plan, results: [delivered(0, 1), delivered(0, 2), delivered(0, 3)])
        #expect(outcome.failed.map(\.id) == [1, 3])
        #expect(outcome.failed.allSatisfy { $0.park })
        #expect(outcome.held == [2, 5, 6, 7, 8, 9])
        #expect(outcome.delivered.map(\.id) == [4, 10, 11])
        #expect(outcome.blockedKeys == ["a", "b", "c", "d", "e"])
    }

    /// A permanent error (too large, no such topic, not authorized) parks its row at once; a
    /// transient one (a timeout, a broker refusing for now) counts an attempt; a fatal producer
    /// error says nothing about the message, so its row is held with no attempt counted.
    @Test func permanentErrorsParkFatalOnesHold() {
        func failure(_ raw: Int32, _ name: String) -> DeliveryResult {
            .failed(KafkaError(code: .init(rawValue: raw, name: name), message: name, context: "delivery"))
        }
        let rows = [row(1, "a"), row(2, "b"), row(3, "c"), row(4, "d"), row(5, "e"), row(6, "a")]
        let outcome = RelayBatchOutcome(rows: rows, results: [
            failure(-150, "_FATAL"), failure(3, "UNKNOWN_TOPIC_OR_PART"), failure(29, "TOPIC_AUTHORIZATION_FAILED"),
            failure(-192, "_MSG_TIMED_OUT"), failure(6, "NOT_LEADER_FOR_PARTITION"), delivered(0, 1),
        ])
        #expect(outcome.held == [1], "the fatal row is held")
        #expect(outcome.failed.map(\.id) == [2, 3, 4, 5])
        #expect(outcome.failed.map(\.park) == [true, true, false, false])
        #expect(outcome.failed.map(\.attempts) == [1, 1, 1, 1])
        #expect(outcome.delivered.map(\.id) == [6], "a delivered row is recorded delivered")
        #expect(outcome.orderGaps == [6])
    }

    /// A report of success without an offset (librdkafka's reading of DUPLICATE_SEQUENCE_NUMBER)
    /// is not taken as proof: the row is sent again, and a later row of its key waits (G2, G3).
    /// After a fatal producer error librdkafka fails the messages in flight with the underlying
    /// code or purges them: none of that counts against the rows.
    @Test func failuresOfABrokenProducerArePurgesHoldTheirRows() {
        let rows = [row(1, "a"), row(2, "b"), row(3, "c")]
        func failure(_ raw: Int32, _ name: String) -> DeliveryResult {
            .failed(KafkaError(code: .init(rawValue: raw, name: name), message: name, context: "delivery"))
        }
        let results = [failure(45, "OUT_OF_ORDER_SEQUENCE_NUMBER"), failure(-152, "_PURGE_QUEUE"), delivered(0, 3)]
        let broken = RelayBatchOutcome(rows: rows, results: results, producerFailed: true)
        #expect(broken.held == [1, 2])
        #expect(broken.failed.isEmpty)
        #expect(broken.delivered.map(\.id) == [3])
        let healthy = RelayBatchOutcome(rows: rows, results: results)
        #expect(healthy.failed.map(\.id) == [1], "with a healthy producer the sequence error is an attempt")
        #expect(healthy.held == [2], "a purge never is")
    }

    @Test func aDeliveryWithoutAnOffsetIsSentAgain() {
        let rows = [row(1, "a"), row(2, "a"), row(3, "b")]
        let outcome = RelayBatchOutcome(rows: rows, results: [delivered(0, -1001), delivered(0, 5), delivered(1, 6)])
        #expect(outcome.failed.map(\.id) == [1])
        #expect(outcome.failed.map(\.reason) == ["NO_OFFSET"])
        #expect(outcome.failed.map(\.park) == [false])
        #expect(outcome.held.isEmpty)
        #expect(outcome.delivered.map(\.id) == [2, 3])
        #expect(outcome.orderGaps == [2])
    }

    @Test func latencyRunsFromEachRowsCreationToItsReport() {
        let created = Timestamp(microsecondsSinceEpoch: 1_000_000_000)
        let rows = [OutboxRow(id: 1, eventID: UUID(), aggregateID: "a", createdAt: created),
                    OutboxRow(id: 2, eventID: UUID(), aggregateID: "b", createdAt: Timestamp(microsecondsSinceEpoch: 1_000_250_000)),
                    OutboxRow(id: 3, eventID: UUID(), aggregateID: "c", createdAt: created)]
        let outcome = RelayBatchOutcome(rows: rows, results: [delivered(0, 1, at: Timestamp(microsecondsSinceEpoch: 1_000_500_000)),
                                                              delivered(0, 2, at: Timestamp(microsecondsSinceEpoch: 1_000_400_000)), .unknown])
        #expect(outcome.latencies == [0.5, 0.15])
        #expect(outcome.delivered.map(\.reportedAt.microsecondsSinceEpoch) == [1_000_500_000, 1_000_400_000])
    }

    /// A batch claimed while the one before was in flight holds the keys that one blocked: their
    /// rows are not produced (so not ahead of the failed row's retry), and the results are those of
    /// the rows produced.
    @Test func keysBlockedByThePreviousBatchAreHeldAndNotProduced() {
        let rows = [row(7, "a"), row(8, "x"), row(9, "a"), row(10, "y")]
        func produced(_ held: Set<String>) -> [Int64] {
            zip(rows, RelayBatchOutcome.plan(rows, heldKeys: held)).compactMap { $1 == .produce ? $0.id : nil }
        }
        #expect(produced(["a"]) == [8, 10])
        #expect(produced([]) == [7, 8, 9, 10])
        let outcome = RelayBatchOutcome(rows: rows, results: [delivered(0, 2), delivered(1, 5)], heldKeys: ["a"])
        #expect(outcome.delivered.map(\.id) == [8, 10])
        #expect(outcome.delivered.map(\.offset) == [2, 5])
        #expect(outcome.held == [7, 9])
        #expect(outcome.failed.isEmpty)
        #expect(outcome.blockedKeys == ["a"])
        let unheld = RelayBatchOutcome(rows: rows, results: [delivered(0, 1), delivered(0, 2), delivered(0, 3), delivered(1, 4)])
        #expect(unheld.held.isEmpty)
        #expect(unheld.delivered.map(\.offset) == [1, 2, 3, 4])
    }
}

extension RelayBatchOutcome {
    /// The outcome of rows planned with `heldKeys` (`plan`), as the pipeline records it.
    init(rows: [OutboxRow], results: [DeliveryResult], heldKeys: Set<String> = [], producerFailed: Bool = false) {
        self.init(rows: rows, dispositions: Self.plan(rows, heldKeys: heldKeys), results: results, producerFailed: producerFailed)
    }
}
