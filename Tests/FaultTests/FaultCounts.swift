import Foundation
import OutboxdKafka
import OutboxdPostgres
import OutboxdTestSupport

/// What came through a fault, counted once the system has recovered: the changes the API
/// acknowledged, tasks and events in PostgreSQL, distinct event ids read back from Kafka, and the
/// audit consumer's effects — with the losses, duplicates and per-key order breaks among them.
struct FaultCounts {
    /// 2xx responses of the load (creates and updates), each promising one event at least.
    var acknowledged = 0
    var tasks = 0
    var outbox = 0
    var parked = 0
    /// Acknowledged changes without their task row or outbox row.
    var missingAcknowledged = 0
    /// Records read back from Kafka, and the distinct outbox event ids among them.
    var kafkaRecords = 0
    var events = 0
    var missingInKafka = 0
    /// Tasks whose events reached Kafka (first occurrences) in another order than their outbox ids.
    var orderViolations = 0
    /// Audit rows, and how many of them repeat an event or are missing (inbox row included).
    var effects = 0
    var effectDuplicates = 0
    var missingEffects = 0

    var lost: Int { missingAcknowledged + missingInKafka + parked }
    /// Events of changes the client was not told succeeded (a 503 after the commit, no response).
    var unacknowledged: Int { outbox - acknowledged }
    var duplicates: Int { kafkaRecords - events }

    /// Waits until the relay has published every row and the audit consumer has applied every
    /// event, then counts the rows of the rig's topic (rows of other topics, a neighbour's, are
    /// the scenario's to count).
    static func collect(_ rig: FaultRig, samples: [LoadSample], timeout: Duration) throws -> FaultCounts {
        try waitUntil("the relay has published the outbox", timeout: timeout) { try rig.pending() == 0 }
        let connection = try rig.connect()
        defer { connection.close() }
        var counts = FaultCounts()
        let rows = try connection.query("SELECT event_id::text AS event_id, aggregate_id FROM outbox WHERE topic = $1 ORDER BY id", [rig.topic]).map {
            (eventID: try $0.require(String.self, "event_id"), key: try $0.require(String.self, "aggregate_id"))
        }
        counts.outbox = rows.count
        counts.tasks = try rig.count("SELECT count(*) FROM tasks")
        counts.parked = try rig.count("SELECT count(*) FROM outbox WHERE parked_at IS NOT NULL AND topic = $1", [rig.topic])
        counts.acknowledged = samples.count(where: \.isSuccess)
        counts.missingAcknowledged = missingAcknowledged(samples, outboxKeys: rows.map(\.key),
                                                         taskIDs: Set(try connection.query("SELECT id::text AS id FROM tasks").map { try $0.require(String.self, "id") }))

        let consumer = try RDKafkaConsumer(configuration: KafkaClientConfiguration(bootstrapServers: rig.bootstrapServers, properties: FaultRig.readerSettings),
                                           groupID: "fault-\(UUID())", topics: [rig.topic])
        defer { consumer.close() }
        for partition in 0..<Int32(FaultRig.partitions) {
            let low = try consumer.watermarks(topic: rig.topic, partition: partition, timeout: .seconds(10)).low
            guard low == 0 else {
                throw HTTPTestError("the mock cluster dropped the first \(low) records of partition \(partition) (it keeps 5 MB per partition): lower the load")
            }
        }
        let records = try consumer.readEvents(Set(rows.map(\.eventID)), timeout: timeout)
        counts.countKafka(records, rows: rows)

        try waitUntil("the audit consumer has applied every event", timeout: timeout) {
            try rig.count("SELECT count(*) FROM audit_log") >= rows.count
        }
        counts.effects = try rig.count("SELECT count(*) FROM audit_log")
        // audit_log.event_id is unique, so a second effect would fail its transaction; counted all the same.
        counts.effectDuplicates = try rig.count("SELECT count(*) - count(DISTINCT event_id) FROM audit_log")
        counts.missingEffects = try rig.count("SELECT count(*) FROM outbox o WHERE o.topic = $1 AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.event_id = o.event_id)",
                                              [rig.topic])
            + rig.count("SELECT count(*) FROM outbox o WHERE o.topic = $1 AND NOT EXISTS (SELECT 1 FROM inbox i WHERE i.consumer = 'audit' AND i.event_id = o.event_id)",
                        [rig.topic])
        return counts
    }

    /// Acknowledged changes (2xx of the load) without their task row or their outbox row, counted
    /// now (the relay need not have published them).
    static func missingOutboxRows(_ rig: FaultRig, samples: [LoadSample]) throws -> Int {
        let connection = try rig.connect()
        defer { connection.close() }
        let keys = try connection.query("SELECT aggregate_id FROM outbox").map { try $0.require(String.self, "aggregate_id") }
        let taskIDs = Set(try connection.query("SELECT id::text AS id FROM tasks").map { try $0.require(String.self, "id") })
        return missingAcknowledged(samples, outboxKeys: keys, taskIDs: taskIDs)
    }

    private static func missingAcknowledged(_ samples: [LoadSample], outboxKeys: [String], taskIDs: Set<String>) -> Int {
        var missing = 0
        var promised: [String: Int] = [:]
        for sample in samples where sample.isSuccess {
            guard let id = sample.taskID else { missing += 1; continue }
            promised[id, default: 0] += 1
            if sample.kind == .create, !taskIDs.contains(id) { missing += 1 }
        }
        var written: [String: Int] = [:]
        for key in outboxKeys { written[key, default: 0] += 1 }
        for (id, count) in promised { missing += max(0, count - written[id, default: 0]) }
        return missing
    }

    private mutating func countKafka(_ records: [KafkaRecord], rows: [(eventID: String, key: String)]) {
        let expected = Set(rows.map(\.eventID))
        var firstSeen: [String: [String]] = [:]
        var seen = Set<String>()
        for record in records {
            guard let id = record.header("ce_id"), expected.contains(id) else { continue }
            kafkaRecords += 1
            if seen.insert(id).inserted {
                firstSeen[String(decoding: record.key, as: UTF8.self), default: []].append(id)
            }
        }
        events = seen.count
        missingInKafka = expected.count - seen.count
        var committed: [String: [String]] = [:]
        for row in rows { committed[row.key, default: []].append(row.eventID) }
        orderViolations = committed.count { key, ids in
            let delivered = firstSeen[key] ?? []
            return ids.filter(seen.contains) != delivered
        }
    }

    /// The counts as `key=value` fields of a FAULT line.
    var fields: [(String, String)] {
        [("acked", acknowledged), ("tasks", tasks), ("outbox", outbox), ("unacked", unacknowledged), ("events", events), ("lost", lost),
         ("duplicates", duplicates), ("order_violations", orderViolations), ("effects", effects),
         ("effect_dupes", effectDuplicates), ("effects_missing", missingEffects)].map { ($0.0, String($0.1)) }
    }
}
