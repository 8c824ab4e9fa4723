import Foundation
import OutboxdCore
import OutboxdKafka

/// What to record for one batch, from its rows and their delivery results. Pure (G3): once a row
/// of a key fails, later rows of that key in the batch are left as they were, to be sent after it.
struct RelayBatchOutcome {
    var delivered: [DeliveredRow] = []
    /// `reason`: librdkafka's error name (`NO_OFFSET`: a success without an offset).
    /// `park`: the error is permanent (too large, no such topic, not authorized): no retry can
    /// deliver it, so it is parked at once instead of burning its attempts (G6).
    var failed: [(id: Int64, error: String, reason: String, attempts: Int, park: Bool)] = []
    /// Seconds from each delivered row's `created_at` to its delivery report.
    var latencies: [Double] = []
    var deliveredPerTopic: [String: Int] = [:]
    var held: [Int64] = []
    /// Keys of this batch's failed and held rows: a batch claimed before this one was recorded
    /// must hold its rows of these keys too.
    var blockedKeys: Set<String> = []

    /// `heldKeys`: keys blocked by the batch before, which was still in flight when this one was
    /// claimed; their rows here are held as well, and were not produced (`toProduce`).
    /// `results`: the delivery results of the rows produced, in order.
    /// A row without a report is left as it was, not counted as a failed attempt: its message may
    /// still be delivered (librdkafka reports every message by `message.timeout.ms`, but the
    /// idempotent producer can take longer while it recovers, or a stop cut the wait short).
    /// `producerFailed`: the producer hit a fatal error; its failures (librdkafka fails the
    /// messages in flight with the underlying code, e.g. OUT_OF_ORDER_SEQUENCE_NUMBER, or purges
    /// them) say nothing about the messages, so those rows are held too, no attempt counted.
    init(rows: [OutboxRow], results: [DeliveryResult], heldKeys: Set<String> = [], producerFailed: Bool = false) {
        var reports = results.makeIterator()
        for row in rows {
            let result = heldKeys.contains(row.aggregateID) ? nil : reports.next() ?? .unknown
            guard let result, !blockedKeys.contains(row.aggregateID) else {
                held.append(row.id)
                blockedKeys.insert(row.aggregateID)
                continue
            }
            switch result {
            case .delivered(_, let offset, _) where offset < 0:
                // A success without an offset is librdkafka's reading of DUPLICATE_SEQUENCE_NUMBER
                // ("the broker had it already"). The mock cluster says so for a retried batch it
                // never wrote (seen: 1 event in 5 runs under injected produce errors), so the row is
                // sent again: a possible duplicate (same ce_id, G5) instead of a possible loss (G2).
                blockedKeys.insert(row.aggregateID)
                failed.append((row.id, "delivery report without an offset (a duplicate the broker may not hold); sent again",
                               "NO_OFFSET", row.attempts + 1, false))
            case .delivered(let partition, let offset, let reportedAt):
                delivered.append(DeliveredRow(id: row.id, eventID: row.eventID, partition: partition, offset: offset, reportedAt: reportedAt,
                                               routedTopic: row.isRouted ? row.topic : nil))
                deliveredPerTopic[row.topic, default: 0] += 1
                latencies.append(Double(reportedAt.microsecondsSinceEpoch - row.createdAt.microsecondsSinceEpoch) / 1_000_000)
            case .failed(let error) where producerFailed || error.isFatal || error.isPurged:
                // The producer broke, not the message: left as it was, for the next producer.
                blockedKeys.insert(row.aggregateID)
                held.append(row.id)
            case .failed(let error):
                blockedKeys.insert(row.aggregateID)
                failed.append((row.id, error.description, error.code.name, row.attempts + 1, error.isPermanent))
            case .unknown:
                blockedKeys.insert(row.aggregateID)
                held.append(row.id)
            }
        }
    }

    /// The rows of a batch to produce: none of the keys the batch before blocked, so a later event
    /// never reaches Kafka ahead of the retry of an earlier one of its key (G3).
    static func toProduce(_ rows: [OutboxRow], heldKeys: Set<String>) -> [OutboxRow] {
        heldKeys.isEmpty ? rows : rows.filter { !heldKeys.contains($0.aggregateID) }
    }
}
