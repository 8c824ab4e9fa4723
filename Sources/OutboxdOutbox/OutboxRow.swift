import Foundation
import OutboxdCore
import OutboxdKafka
import OutboxdPostgres

/// A claimed outbox row, ready to produce: its topic already routed (`TopicRoute`) and its
/// stored headers read for the record shape.
public struct OutboxRow: Sendable {
    public let id: Int64
    /// `event_id` as PostgreSQL prints a uuid (lowercase, hyphenated): sent as is, never parsed here.
    public let eventIDText: String
    public let aggregateType: String
    /// The ordering key (G3), and the Kafka key unless the row sets `message_key`.
    public let aggregateID: String
    public let eventType: String
    /// The row's topic, or its route's when the row left it empty (`isRouted`).
    public internal(set) var topic: String
    public let isRouted: Bool
    /// The record's value: the jsonb payload as text, or `payload_bytes` byte for byte.
    public let payload: [UInt8]
    /// The payload is `payload_bytes`.
    public let payloadIsBytes: Bool
    /// The row has no payload (`tombstone`, migration 0015): the record's value is null, or what
    /// the Debezium shape's converter writes for a null.
    public let isTombstone: Bool
    /// The row's `content_type`, else `application/json` for a jsonb payload and
    /// `application/octet-stream` for bytes.
    public let contentType: String
    public let key: [UInt8]
    /// `message_partition`; nil lets the partitioner pick from the key.
    public let partition: Int32?
    /// The stored headers sent after the relay's own (`StoredHeaders`).
    public let headers: [(name: String, value: String)]
    /// The columns of `fields` (migration 0016) the Debezium shape's settings read, by name;
    /// empty when they read none.
    let addedFields: [String: DebeziumValue]
    /// What of the stored headers is not sent, and why.
    let droppedHeaders: StoredHeaders
    public let createdAt: Timestamp
    public let attempts: Int
    /// Why the row is not produced as claimed; nil for a row ready to produce.
    public let problem: Problem?

    /// A claimed row the relay does not produce: it is handled alone, and later rows of its key
    /// wait for it (`RelayBatchOutcome.plan`).
    public enum Problem: Sendable, Equatable {
        /// A column the relay cannot read (a time no timestamp can hold, a NULL payload written
        /// with the checks off, …): parked with this reason, which names the column.
        case unreadable(String)
        /// The payload alone is larger than a claim may hold (`RELAY_BATCH_BYTES`): parked
        /// without ever being read.
        case tooLarge(size: Int, limit: Int)
        /// Past the claim's byte budget: left pending for the next claim.
        case deferred

        /// The reason stored in `last_error` of a parked row.
        var reason: String? {
            switch self {
            case .unreadable(let why): "the relay cannot read this row: \(why)"
            case .tooLarge(let size, let limit): "payload of \(size) bytes is larger than a claim may hold (RELAY_BATCH_BYTES \(limit))"
            case .deferred: nil
            }
        }

        /// The failure reason counted in `outboxd_relay_failures_total`.
        var code: String {
            switch self {
            case .unreadable: "UNREADABLE_ROW"
            case .tooLarge: "PAYLOAD_OVER_BATCH_BYTES"
            case .deferred: "DEFERRED"
            }
        }
    }

    init(id: Int64, eventID: UUID, aggregateID: String, eventType: String = "task.created", topic: String = "task-events",
         payload: String = "{}", headers: [(name: String, value: String)] = [], createdAt: Timestamp = .now(), attempts: Int = 0,
         partition: Int32? = nil, problem: Problem? = nil) {
        self.id = id
        self.eventIDText = eventID.lowercaseString
        self.aggregateType = "task"
        self.aggregateID = aggregateID
        self.eventType = eventType
        self.topic = topic
        self.isRouted = false
        self.payload = Array(payload.utf8)
        self.payloadIsBytes = false
        self.isTombstone = false
        self.contentType = "application/json"
        self.key = Array(aggregateID.utf8)
        self.partition = partition
        self.headers = headers
        self.addedFields = [:]
        self.droppedHeaders = StoredHeaders()
        self.createdAt = createdAt
        self.attempts = attempts
        self.problem = problem
    }

    /// The claim's column positions, looked up by name once per result rather than per field.
    struct Columns {
        let id, eventID, aggregateType, aggregateID, eventType, topic, payload, payloadBytes, contentType: Int
        let messageKey, messagePartition, headers, createdAt, attempts, payloadSize, within, tombstone, fields: Int

        init(_ names: [String]) throws {
            func index(_ name: String) throws -> Int {
                guard let index = names.firstIndex(of: name) else {
                    throw PostgresError(kind: .decoding, message: "no column \"\(name)\" in the result")
                }
                return index
            }
            (id, eventID, aggregateType, aggregateID, eventType) = (try index("id"), try index("event_id"), try index("aggregate_type"),
                                                                    try index("aggregate_id"), try index("event_type"))
            (topic, payload, payloadBytes, contentType) = (try index("topic"), try index("payload"), try index("payload_bytes"),
                                                           try index("content_type"))
            (messageKey, messagePartition, headers, createdAt, attempts) = (try index("message_key"), try index("message_partition"),
                                                                            try index("headers"), try index("created_at"), try index("attempts"))
            (payloadSize, within, tombstone, fields) = (try index("payload_size"), try index("within"), try index("tombstone"), try index("fields"))
        }
    }

    /// The claimed rows of a result. A row that cannot be read, or whose payload the claim's byte
    /// budget (`bytes`) left out, comes back with its `problem` instead of failing the claim.
    static func rows(of result: PostgresRows, format: RecordFormat, bytes: Int) throws -> [OutboxRow] {
        let columns = try Columns(result.columns)
        let owned = format.relayOwnedHeaders
        return try result.map { row in
            let id = try row.require(Int64.self, at: columns.id)
            let aggregateID = try row.require(String.self, at: columns.aggregateID)
            if try row.require(Bool.self, at: columns.within) == false {
                let size = try row.decode(Int.self, at: columns.payloadSize) ?? 0
                return OutboxRow(problemRow: id, aggregateID: aggregateID, row: row, columns: columns,
                                 problem: size > bytes ? .tooLarge(size: size, limit: bytes) : .deferred)
            }
            do {
                return try OutboxRow(row: row, columns: columns, format: format, relayOwned: owned)
            } catch {
                return OutboxRow(problemRow: id, aggregateID: aggregateID, row: row, columns: columns,
                                 problem: .unreadable((error as? PostgresError)?.message ?? "\(error)"))
            }
        }
    }

    /// A row not produced: what can be read of it, for the outcome, the log and the metrics.
    private init(problemRow id: Int64, aggregateID: String, row: PostgresRow, columns: Columns, problem: Problem) {
        self.id = id
        self.aggregateID = aggregateID
        eventIDText = (try? row.decode(String.self, at: columns.eventID)) ?? ""
        aggregateType = (try? row.decode(String.self, at: columns.aggregateType)) ?? ""
        eventType = (try? row.decode(String.self, at: columns.eventType)) ?? ""
        topic = (try? row.decode(String.self, at: columns.topic)) ?? ""
        isRouted = false
        payload = []
        payloadIsBytes = false
        isTombstone = false
        contentType = ""
        key = []
        partition = nil
        headers = []
        addedFields = [:]
        droppedHeaders = StoredHeaders()
        createdAt = (try? row.decode(Timestamp.self, at: columns.createdAt)) ?? Timestamp(microsecondsSinceEpoch: 0)
        attempts = (try? row.decode(Int.self, at: columns.attempts)) ?? 0
        self.problem = problem
    }

    init(row: PostgresRow, columns: Columns, format: RecordFormat, relayOwned: Set<String>) throws {
        problem = nil
        id = try row.require(Int64.self, at: columns.id)
        eventIDText = try row.require(String.self, at: columns.eventID)
        aggregateType = try row.require(String.self, at: columns.aggregateType)
        aggregateID = try row.require(String.self, at: columns.aggregateID)
        eventType = try row.require(String.self, at: columns.eventType)
        let topic = try row.require(String.self, at: columns.topic)
        isRouted = topic.isEmpty
        let contentType = try row.decode(String.self, at: columns.contentType)
        isTombstone = try row.require(Bool.self, at: columns.tombstone)
        if isTombstone {
            payload = []
            payloadIsBytes = false
            self.contentType = contentType ?? "application/json"
        } else if let bytes = try row.decode(PostgresBytes.self, at: columns.payloadBytes) {
            payload = bytes.bytes
            payloadIsBytes = true
            self.contentType = contentType ?? "application/octet-stream"
        } else {
            payload = Array(try row.require(String.self, at: columns.payload).utf8)
            payloadIsBytes = false
            self.contentType = contentType ?? "application/json"
        }
        key = Array((try row.decode(String.self, at: columns.messageKey) ?? aggregateID).utf8)
        partition = try row.decode(Int32.self, at: columns.messagePartition)
        createdAt = try row.require(Timestamp.self, at: columns.createdAt)
        attempts = try row.require(Int.self, at: columns.attempts)
        var stored = StoredHeaders(jsonText: try row.require(String.self, at: columns.headers), relayOwned: relayOwned)
        headers = stored.valid
        stored.valid = []
        droppedHeaders = stored
        let router = format.debeziumRouter
        if format.shape == .debezium && !router.addedColumnsRead.isEmpty {
            addedFields = try DebeziumValue.read(row.decode(String.self, at: columns.fields), columns: router.addedColumnsRead, types: router.columns)
            if let field = router.eventTimestampField, case .integer(let micros) = addedFields[field], micros.hasPrefix("-") {
                // Kafka's timestamps are not negative (Kafka Connect's producer refuses such a record).
                throw DebeziumValue.Unreadable(description: "\(field) is before 1970, which a Kafka record timestamp cannot be (table.field.event.timestamp)")
            }
        } else {
            addedFields = [:]
        }
        self.topic = topic
        try route(format)
    }

    /// A row that left its topic empty gets its route's (`isRouted`).
    mutating func route(_ format: RecordFormat) throws {
        guard isRouted else { return }
        if format.shape == .debezium, let route = format.debeziumRouter.route {
            // Only Debezium's text columns and added ones can route (DebeziumRouter.problem).
            guard case .text(let value) = debeziumValue(of: route.field) else {
                throw DebeziumValue.Unreadable(description: "route.by.field \(route.field) is NULL: no topic to route the row to")
            }
            self.topic = route.topic(value)
        } else {
            self.topic = format.route.topic(aggregateType: aggregateType, eventType: eventType)
        }
    }

    /// One log line for a row with stored headers not sent: its id and their names, never values.
    func logDroppedHeaders(_ logger: Logger) {
        guard !droppedHeaders.isClean else { return }
        var fields: [(key: String, value: String)] = [("outbox_id", "\(id)")]
        if droppedHeaders.notAnObject { fields.append(("headers", "not a JSON object; none sent")) }
        if !droppedHeaders.invalid.isEmpty { fields.append(("not_strings", StoredHeaders.logList(droppedHeaders.invalid))) }
        if !droppedHeaders.shadowing.isEmpty { fields.append(("relay_owned", StoredHeaders.logList(droppedHeaders.shadowing))) }
        logger.log(.warning, "stored headers not sent (values must be strings; the relay's own headers win)", fields: fields)
    }

    /// The Kafka record in `shape`: the row's key, value and partition; the shape's headers, then
    /// the row's stored headers (none named like those: `RecordFormat.relayOwnedHeaders`).
    func message(_ format: RecordFormat) -> KafkaMessage {
        var headers: [(name: String, value: [UInt8])]
        switch format.shape {
        case .cloudEvents:
            headers = [
                ("ce_id", Array(eventIDText.utf8)),
                ("ce_type", Array(eventType.utf8)),
                ("ce_source", format.sourceUTF8),
                ("ce_time", createdAt.rfc3339UTF8),
                ("ce_specversion", RecordFormat.specVersionUTF8),
            ]
            // An event without data has no data content type.
            if !isTombstone {
                headers.append(("content-type", contentType == "application/json" ? RecordFormat.jsonContentTypeUTF8 : Array(contentType.utf8)))
            }
        case .debezium:
            return debeziumMessage(format)
        }
        if !self.headers.isEmpty { headers += self.headers.map { ($0.name, Array($0.value.utf8)) } }
        var message = KafkaMessage(topic: topic, key: key, value: payload, headers: headers, partition: partition)
        message.isTombstone = isTombstone
        return message
    }
}
