import Foundation
import OutboxdCore
import OutboxdKafka

/// What the relay does with a claimed row, decided before anything is produced (`plan`).
enum RowDisposition: Equatable {
    case produce
    /// Left pending, no attempt counted: sent by a later claim, after the rows it waits for.
    case hold
    /// Parked at once with this reason (`OutboxRow.Problem`).
    case park(reason: String, code: String)
}

/// What to record for one batch, from its rows and their delivery results. Pure (G3).
///
/// Per-key order: a row is produced in a batch only while every earlier row of its key in the
/// batch is produced to the same destination (topic and partition choice), so that the idempotent
/// producer keeps them in order in one partition queue, and a produce-time failure of one stops
/// the later ones of its key (`RDKafkaProducer.produce(_:chains:)`). Every other later row of a
/// key that cannot go now is held for the next claim. No duplicate without a fault: a row whose
/// report says delivered is recorded delivered, whatever happened to the rows before it.
struct RelayBatchOutcome {
    var delivered: [DeliveredRow] = []
    /// `reason`: librdkafka's error name (`NO_OFFSET`: a success without an offset), or the
    /// problem of a row that was not produced (`OutboxRow.Problem.code`).
    /// `park`: the error is permanent (too large, no such topic, not authorized, unreadable): no
    /// retry can deliver it, so it is parked at once instead of burning its attempts (G6).
    var failed: [(id: Int64, error: String, reason: String, attempts: Int, park: Bool)] = []
    /// Seconds from each delivered row's `created_at` to its delivery report.
    var latencies: [Double] = []
    var deliveredPerTopic: [String: Int] = [:]
    var held: [Int64] = []
    /// Keys of this batch's failed and held rows: a batch claimed before this one was recorded
    /// must hold its rows of these keys too.
    var blockedKeys: Set<String> = []
    /// Rows delivered after an earlier row of their key in the same partition queue failed with an
    /// error that is retried (a timeout): the idempotent producer left a gap, so the later event
    /// is in Kafka before the earlier one. Recorded as delivered (sending it again would only add
    /// a duplicate), counted and logged.
    var orderGaps: [Int64] = []

    /// `dispositions`: `plan(rows, heldKeys:)`, made when the rows were produced.
    /// `results`: the delivery results of the rows produced, in order.
    /// A row without a report is left as it was, not counted as a failed attempt: its message may
    /// still be delivered (librdkafka reports every message by `message.timeout.ms`, but the
    /// idempotent producer can take longer while it recovers, or a stop cut the wait short).
    /// `producerFailed`: the producer hit a fatal error; its failures (librdkafka fails the
    /// messages in flight with the underlying code, e.g. OUT_OF_ORDER_SEQUENCE_NUMBER, or purges
    /// them) say nothing about the messages, so those rows are held too, no attempt counted.
    init(rows: [OutboxRow], dispositions: [RowDisposition], results: [DeliveryResult], producerFailed: Bool = false) {
        precondition(rows.count == dispositions.count, "one disposition per claimed row")
        var reports = results.makeIterator()
        /// Keys with an earlier row of this batch that will be sent again.
        var retried: Set<String> = []
        // Delivered rows of the topic seen last, added to `deliveredPerTopic` when it changes.
        var lastTopic = "", lastTopicCount = 0
        delivered.reserveCapacity(rows.count)
        latencies.reserveCapacity(rows.count)
        defer { if lastTopicCount > 0 { deliveredPerTopic[lastTopic, default: 0] += lastTopicCount } }
        for (row, disposition) in zip(rows, dispositions) {
            let key = row.aggregateID
            switch disposition {
            case .hold:
                held.append(row.id)
                blockedKeys.insert(key)
                continue
            case .park(let reason, let code):
                failed.append((row.id, reason, code, row.attempts + 1, true))
                blockedKeys.insert(key)
                continue
            case .produce:
                break
            }
            switch reports.next() ?? .unknown {
            case .delivered(_, let offset, _) where offset < 0:
                // A success without an offset is librdkafka's reading of DUPLICATE_SEQUENCE_NUMBER
                // ("the broker had it already"). The mock cluster says so for a retried batch it
                // never wrote (seen: 1 event in 5 runs under injected produce errors), so the row is
                // sent again: a possible duplicate (same ce_id, G5) instead of a possible loss (G2).
                blockedKeys.insert(key)
                retried.insert(key)
                failed.append((row.id, "delivery report without an offset (a duplicate the broker may not hold); sent again",
                               "NO_OFFSET", row.attempts + 1, false))
            case .delivered(let partition, let offset, let reportedAt):
                if retried.contains(key) { orderGaps.append(row.id) }
                delivered.append(DeliveredRow(id: row.id, eventIDText: row.eventIDText, partition: partition, offset: offset, reportedAt: reportedAt,
                                               routedTopic: row.isRouted ? row.topic : nil))
                if row.topic == lastTopic {
                    lastTopicCount += 1
                } else {
                    if lastTopicCount > 0 { deliveredPerTopic[lastTopic, default: 0] += lastTopicCount }
                    (lastTopic, lastTopicCount) = (row.topic, 1)
                }
                latencies.append(Double(reportedAt.microsecondsSinceEpoch - row.createdAt.microsecondsSinceEpoch) / 1_000_000)
            case .failed(let error) where producerFailed || error.isFatal || error.isPurged:
                // The producer broke, not the message: left as it was, for the next producer.
                blockedKeys.insert(key)
                retried.insert(key)
                held.append(row.id)
            case .failed(let error):
                blockedKeys.insert(key)
                if !error.isPermanent { retried.insert(key) }
                failed.append((row.id, error.description, error.code.name, row.attempts + 1, error.isPermanent))
            case .notProduced, .unknown:
                blockedKeys.insert(key)
                retried.insert(key)
                held.append(row.id)
            }
        }
    }

    /// Where a produced row goes, as far as order is concerned: rows of one key with the same
    /// destination share a partition queue.
    private struct Destination: Equatable {
        let topic: String
        let partition: Int32?
    }

    /// The rows of `rows` whose disposition is `.produce`, in order.
    static func produced(_ rows: [OutboxRow], _ dispositions: [RowDisposition]) -> [OutboxRow] {
        zip(rows, dispositions).compactMap { $1 == .produce ? $0 : nil }
    }

    /// What to do with each claimed row (G3): rows of keys blocked by the batch before (`heldKeys`,
    /// still in flight when this one was claimed) are held; the rest as `Planner` decides.
    static func plan(_ rows: [OutboxRow], heldKeys: Set<String>) -> [RowDisposition] {
        var planner = Planner(blocked: heldKeys)
        planner.reserve(rows.count)
        return rows.map { planner.disposition(of: $0) }
    }

    /// Decides, row after row of a batch in order, what to do with each (G3): a row of a blocked
    /// key is held; a row with a `problem` is parked or held, and blocks its key; a row whose key
    /// has an earlier row here produced to another destination is held, and blocks its key. The
    /// rest are produced. Both sources' batches are planned by it (`RelaySink`).
    struct Planner {
        private(set) var blocked: Set<String>
        private var destinations: [String: Destination] = [:]

        init(blocked: Set<String> = []) {
            self.blocked = blocked
        }

        mutating func reserve(_ count: Int) {
            destinations.reserveCapacity(count)
        }

        /// Holds the later rows of `key` (an earlier event of it that is not produced).
        mutating func block(_ key: String) {
            blocked.insert(key)
        }

        mutating func disposition(of row: OutboxRow) -> RowDisposition {
            let key = row.aggregateID
            if !blocked.isEmpty, blocked.contains(key) { return .hold }
            if let problem = row.problem {
                blocked.insert(key)
                guard let reason = problem.reason else { return .hold }
                return .park(reason: reason, code: problem.code)
            }
            let destination = Destination(topic: row.topic, partition: row.partition)
            if destinations.firstValue(for: key, storing: destination) != destination {
                blocked.insert(key)
                return .hold
            }
            return .produce
        }
    }
}
