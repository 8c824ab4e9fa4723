import Foundation
import OutboxdKafka
@testable import OutboxdOutbox
import OutboxdPostgres
import OutboxdTestSupport
import Testing

/// One record of Debezium's outbox event router as a Kafka Connect worker serialized it
/// (`Tests/Fixtures/debezium/*.json`, written by `scripts/debezium-golden.sh`).
struct DebeziumGolden: Decodable {
    struct Row: Decodable {
        let id: String, aggregatetype: String, aggregateid: String, type: String
        let payload: String?
        /// A bytea table's payload (`payload_bytes`' base64), where `payload` is nil.
        let payload_base64: String?
        /// The columns added beside Debezium's (`EXTRA_COLUMNS` of the generator).
        let timestamp: String?, tenant: String?, version: Int?, part: Int?
    }

    /// The added columns of the generator's table, as `outboxd_debezium.add_column` takes them
    /// (`timestamp` is there from migration 0016).
    static let addedColumns = [("tenant", "text"), ("version", "integer"), ("part", "integer")]

    struct Header: Decodable {
        let name: String
        let value_base64: String?
        var value: [UInt8]? { value_base64.flatMap { Data(base64Encoded: $0) }.map { Array($0) } }
    }

    struct Record: Decodable {
        let row: Row
        let topic: String
        let key_base64: String?
        let value_base64: String?
        let headers: [Header]
        let partition: Int?
        /// The record's own partition (placement `partition`); nil: the producer's, `partition`.
        let record_partition: Int?
        let timestamp_ms: Int64?
        var key: [UInt8]? { key_base64.flatMap { Data(base64Encoded: $0) }.map { Array($0) } }
        var value: [UInt8]? { value_base64.flatMap { Data(base64Encoded: $0) }.map { Array($0) } }
    }

    let debezium: String
    let router_options: [String: String]
    /// The connector's own options of the run (`extended.headers.enabled`), none by default.
    let connector_options: [String: String]?
    /// The type of the golden table's payload column (`outboxd_debezium.set_payload_type`): jsonb when absent.
    let payload_type: String?
    let converter: String
    let partitions: Int
    let records: [Record]

    /// The converter of a fixture, by its name's first part.
    static func converter(ofFixture name: String) -> DebeziumConverter {
        name.hasPrefix("json-schemaless") ? .jsonSchemaless : name.hasPrefix("json-schemas") ? .json : .string
    }

    /// The router and connector options of the fixture as outboxd's settings (the README's table of keys).
    func apply(to format: inout RecordFormat) throws {
        for (key, value) in connector_options ?? [:] {
            guard key == "extended.headers.enabled" else { throw HTTPTestError("no outboxd setting for the connector's \(key)") }
            format.debeziumContext.enabled = value == "true"
        }
        let options = router_options
        for key in options.keys where !["route.by.field", "route.topic.regex", "route.topic.replacement", "route.tombstone.on.empty.payload",
                                        "table.field.event.timestamp", "table.fields.additional.placement", "table.expand.json.payload"].contains(key) {
            throw HTTPTestError("no outboxd setting for \(key)")
        }
        if options.keys.contains(where: { $0.hasPrefix("route.") && $0 != "route.tombstone.on.empty.payload" }) {
            format.debeziumRouter.route = try DebeziumTopicRoute(field: options["route.by.field"] ?? DebeziumTopicRoute.defaultField,
                                                                 regex: options["route.topic.regex"] ?? DebeziumTopicRoute.defaultRegex,
                                                                 replacement: options["route.topic.replacement"] ?? DebeziumTopicRoute.defaultReplacement)
        }
        format.debeziumTombstoneOnEmptyPayload = options["route.tombstone.on.empty.payload"] == "true"
        format.debeziumRouter.eventTimestampField = options["table.field.event.timestamp"]
        format.debeziumRouter.additionalFields = try options["table.fields.additional.placement"].map { try DebeziumAdditionalField.parse($0) } ?? []
        format.debeziumRouter.expandJSONPayload = options["table.expand.json.payload"] == "true"
    }

    static func load(_ name: String) throws -> DebeziumGolden {
        let url = TestEnvironment.repositoryRoot.appendingPathComponent("Tests/Fixtures/debezium/\(name).json")
        return try JSONDecoder().decode(DebeziumGolden.self, from: Data(contentsOf: url))
    }
}

/// Issue #26: the rows Debezium 3.6.3's EventRouter turned into records, written through
/// `outboxd_debezium.outbox` and published in the Debezium shape, give the same records byte for
/// byte (StringConverter: topic, key, value, partition among 6 by murmur2, the headers in order:
/// the four `__debezium.context.*` ones and `id`), except for the differences each test names.
@Suite(.serialized) struct DebeziumGoldenTests {
    /// The header that differs by nature: Debezium's is new for each start of the connector,
    /// outboxd's for each start of the relay.
    static let runID = "__debezium.context.runId"

    /// The golden rows written through the view, published with the Debezium shape's producer
    /// properties; each row's record by event id, or the SQLSTATE with which the view refused it.
    func publishThroughView(_ golden: DebeziumGolden, producerProperties: [(name: String, value: String, key: String)],
                            converter: DebeziumConverter = .string, format: (inout RecordFormat) -> Void = { _ in },
                            context: (inout DebeziumContext) -> Void = { $0.logicalName = "golden" })
        throws -> (records: [String: KafkaRecord], refused: [String: String], window: ClosedRange<Int64>)
    {
        let start = Int64(Date().timeIntervalSince1970 * 1000)
        let fixture = try RelayFixture(producerProperties: producerProperties,
                                       topicPolicy: KafkaTopicPolicy(create: true, partitions: golden.partitions),
                                       debeziumColumns: DebeziumGolden.addedColumns) {
            $0.format.shape = .debezium
            $0.format.debeziumConverter = converter
            format(&$0.format)
            context(&$0.format.debeziumContext)
        }
        let connection = try fixture.database.connect()
        let payloadType = golden.payload_type ?? "jsonb"
        if payloadType != "jsonb" { try connection.query("SELECT outboxd_debezium.set_payload_type($1)", [payloadType]) }
        try connection.query("SET search_path = outboxd_debezium, public")
        var refused: [String: String] = [:]
        for record in golden.records {
            let row = record.row
            do {
                try connection.query("""
                    INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, "timestamp", tenant, version, part)
                    VALUES ($1::uuid, $2, $3, $4, $5::\(payloadType), $6::timestamp, $7, $8::integer, $9::integer)
                    """, [row.id, row.aggregatetype, row.aggregateid, row.type,
                          row.payload_base64.flatMap { Data(base64Encoded: $0) }.map { PostgresBytes(Array($0)) as any PostgresParameter } ?? row.payload,
                          row.timestamp, row.tenant,
                          row.version.map(String.init), row.part.map(String.init)])
            } catch let error as PostgresError {
                refused[row.id] = error.code.raw
            }
        }
        fixture.relay.run()
        fixture.relay.wakeup.wake()
        try fixture.waitUntilNothingPending()
        #expect(try fixture.database.count("outbox", where: "parked_at IS NOT NULL") == 0)
        let topics = Array(Set(golden.records.map(\.topic))).sorted()
        let read = try fixture.consume(golden.records.count - refused.count, topics: topics)
        let records = Dictionary(read.map { ($0.header("id") ?? "", $0) }, uniquingKeysWith: { first, _ in first })
        return (records, refused, start...Int64(Date().timeIntervalSince1970 * 1000))
    }

    /// The fields of `ours` that differ from Debezium's `golden` record. The timestamp is
    /// compared when `window` is given: equal where the row's column gave Debezium's
    /// (`timestampFromColumn`), else by form, as each side's own time of sending (within `window`).
    static func differences(_ golden: DebeziumGolden.Record, _ ours: KafkaRecord, timestampFromColumn: Bool = false,
                            window: ClosedRange<Int64>? = nil) -> [String] {
        var fields: [String] = []
        if ours.topic != golden.topic { fields.append("topic") }
        if ours.key != golden.key { fields.append("key") }
        if (ours.isTombstone ? nil : ours.value) != golden.value { fields.append("value") }
        if Int(ours.partition) != golden.record_partition ?? golden.partition { fields.append("partition") }
        if ours.headers.map(\.name) != golden.headers.map(\.name) { fields.append("header names") }
        if golden.headers.contains(where: { $0.name == runID }),
           UUID(uuidString: ours.headers.first { $0.name == runID }.map { String(decoding: $0.value, as: UTF8.self) } ?? "") == nil {
            fields.append("header \(runID) (not a UUID)")
        }
        for header in golden.headers where header.name != runID {
            guard let index = ours.headers.firstIndex(where: { $0.name == header.name }) else {
                fields.append("header \(header.name)")
                continue
            }
            let value = ours.nullHeaders.contains(index) ? nil : ours.headers[index].value
            if value != header.value { fields.append("header \(header.name)") }
        }
        if let window {
            if timestampFromColumn && golden.row.timestamp != nil {
                if ours.timestampMilliseconds != golden.timestamp_ms { fields.append("timestamp") }
            } else if !window.contains(ours.timestampMilliseconds) {
                fields.append("timestamp (not the time of sending)")
            }
        }
        return fields
    }

    /// Each golden record's differing fields (`differences`), by its row's type; every record must
    /// have been read back.
    static func differing(_ golden: DebeziumGolden, _ records: [String: KafkaRecord], window: ClosedRange<Int64>? = nil) -> [String: [String]] {
        var differing: [String: [String]] = [:]
        for record in golden.records {
            guard let ours = records[record.row.id] else {
                differing[record.row.type] = ["not read back"]
                continue
            }
            let fields = differences(record, ours, timestampFromColumn: golden.router_options["table.field.event.timestamp"] != nil, window: window)
            if !fields.isEmpty { differing[record.row.type] = fields }
        }
        return differing
    }

    @Test func stringConverterRecordsAreDebeziumsByteForByte() throws {
        let golden = try DebeziumGolden.load("string")
        #expect(golden.debezium == "3.6.3.Final")
        #expect(golden.converter == "org.apache.kafka.connect.storage.StringConverter")
        #expect(golden.records.count == 14)
        let (records, refused, window) = try publishThroughView(golden, producerProperties: RecordShape.debezium.producerProperties)

        // Each header Debezium sends, in its order; runId is a UUID of each side's start.
        for record in golden.records {
            #expect(record.headers.map(\.name) == DebeziumContext.names + ["id"], "\(record.row.type)")
            if let ours = records[record.row.id] {
                #expect(UUID(uuidString: ours.header(Self.runID) ?? "") != nil)
                #expect(ours.header(Self.runID) != record.headers.first { $0.name == Self.runID }?.value.map { String(decoding: $0, as: UTF8.self) })
            }
        }
        // A NULL payload: Debezium sends a record with a null value (a tombstone for its key); the
        // view writes a tombstone row (migration 0015) and the relay sends the same.
        let nullPayload = try #require(golden.records.first { $0.row.payload == nil })
        #expect(nullPayload.value == nil)
        #expect(records[nullPayload.row.id]?.isTombstone == true)
        #expect(refused.isEmpty)

        let differing = Self.differing(golden, records, window: window)
        #expect(differing.isEmpty, "fields that differ from Debezium's records: \(differing)")
        #expect(records.count == golden.records.count)
    }

    /// OUTBOX_DEBEZIUM_CONVERTER=json-schemaless / json: JsonConverter's records byte for byte
    /// (Jackson's escapes, surrogate pairs outside the BMP, the schema envelopes), and the
    /// partitions murmur2 gives the converted keys.
    @Test(arguments: [("json-schemaless", DebeziumConverter.jsonSchemaless), ("json-schemas", DebeziumConverter.json)])
    func jsonConverterRecordsAreDebeziumsByteForByte(_ name: String, _ converter: DebeziumConverter) throws {
        let golden = try DebeziumGolden.load(name)
        #expect(golden.converter == "org.apache.kafka.connect.json.JsonConverter")
        let (records, refused, window) = try publishThroughView(golden, producerProperties: RecordShape.debezium.producerProperties, converter: converter)
        #expect(refused.isEmpty)
        let differing = Self.differing(golden, records, window: window)
        #expect(differing.isEmpty, "fields that differ from Debezium's records: \(differing)")
        #expect(records.count == golden.records.count)
    }

    /// The router options besides the defaults, each fixture against outboxd with the same
    /// options as its settings (`DebeziumGolden.apply`): routing by a column through a regex,
    /// tombstones on empty payloads, the record timestamp from a column, additional fields as
    /// headers, partition and envelope, the connector's extended headers off
    /// (OUTBOX_DEBEZIUM_CONTEXT_HEADERS=no: `id` alone), a table whose payload is text or bytea
    /// (`outboxd_debezium.set_payload_type`; bytes under Debezium's `BinaryDataConverter` where
    /// the fixture says `string`); under each converter. The record timestamp is compared
    /// exactly where the row's column gave it, and by form (the time of sending) elsewhere.
    @Test(arguments: ["route-by-type", "tombstone-on-empty", "route-by-tenant", "placement-header", "placement-envelope", "expand-json", "no-context-headers",
                            "payload-text", "payload-text-expand-json", "payload-bytea"].flatMap { variant in
        ["string", "json-schemaless", "json-schemas"].map { "\($0)-\(variant)" }
    })
    func routerOptionsAreDebeziumsByteForByte(_ name: String) throws {
        let golden = try DebeziumGolden.load(name)
        let (records, refused, window) = try publishThroughView(golden, producerProperties: RecordShape.debezium.producerProperties,
                                                                converter: DebeziumGolden.converter(ofFixture: name),
                                                                format: { format in try! golden.apply(to: &format) })
        #expect(refused.isEmpty)
        var differing = Self.differing(golden, records, window: window)
        if name == "json-schemas-placement-envelope" {
            // By construction: Debezium caches an envelope's schema by the payload's schema, so every
            // record gets the name made for the first one it routed (…Order.Value); outboxd names
            // each record's schema after its own routed value.
            let record = try #require(golden.records.first { $0.row.aggregatetype == "CustomerAccount" })
            #expect(differing.removeValue(forKey: record.row.type) == ["value"])
            let theirs = String(decoding: try #require(record.value), as: UTF8.self)
            #expect(records[record.row.id].map { String(decoding: $0.value, as: UTF8.self) }
                    == theirs.replacingOccurrences(of: #""name":"golden.public.outbox.Order.Value""#, with: #""name":"golden.public.outbox.CustomerAccount.Value""#))
        }
        if name.hasSuffix("placement-header") {
            // By construction: librdkafka takes a timestamp of 0 for "now", so an event time at the
            // epoch itself (its first millisecond) is sent with the time of sending.
            let record = try #require(golden.records.first { $0.timestamp_ms == 0 })
            #expect(differing.removeValue(forKey: record.row.type) == ["timestamp"])
            #expect(records[record.row.id].map { window.contains($0.timestampMilliseconds) } == true)
        }
        #expect(differing.isEmpty, "\(name): fields that differ from Debezium's records: \(differing)")
        if name.hasSuffix("no-context-headers") {
            #expect(golden.records.allSatisfy { $0.headers.map(\.name) == ["id"] })
        }
        if name.hasSuffix("tombstone-on-empty") {
            #expect(golden.records.filter { $0.row.payload == nil }.allSatisfy { records[$0.row.id]?.isTombstone == true })
        }
    }

    /// `route.by.field=type` is also OUTBOX_TOPIC_ROUTE=outbox.event.{event_type}.
    @Test func routeByTypeIsATopicRouteToo() throws {
        let golden = try DebeziumGolden.load("string-route-by-type")
        let (records, refused, window) = try publishThroughView(golden, producerProperties: RecordShape.debezium.producerProperties,
                                                                format: { $0.route = try! TopicRoute("outbox.event.{event_type}") })
        #expect(refused.isEmpty)
        let differing = Self.differing(golden, records, window: window)
        #expect(differing.isEmpty, "fields that differ from Debezium's records: \(differing)")
    }

    /// Under the default (StringConverter) a JsonConverter deployment's key and value are JSON
    /// strings whose text is outboxd's key and value; the partition is murmur2 of those quoted
    /// bytes, so it differs wherever the hashes of the two byte strings fall on different
    /// partitions. With schemas.enable=true both are an envelope {"schema":…,"payload":<that string>}.
    @Test(arguments: ["json-schemaless", "json-schemas"])
    func jsonConverterRecordsDifferInKeyAndValueEncodingOnly(_ name: String) throws {
        let golden = try DebeziumGolden.load(name)
        #expect(golden.converter == "org.apache.kafka.connect.json.JsonConverter")
        let (records, refused, _) = try publishThroughView(golden, producerProperties: RecordShape.debezium.producerProperties)
        #expect(refused.isEmpty)
        let plain = try DebeziumGolden.load("string")
        // The NULL payload's record: a tombstone here against `null` there (compared byte for byte above).
        for (record, stringRecord) in zip(golden.records, plain.records) where refused[record.row.id] == nil && record.row.payload != nil {
            let ours = try #require(records[record.row.id], "\(record.row.type)")
            let fields = Self.differences(record, ours)
            #expect(fields.starts(with: ["key", "value"]) && Set(fields).isSubset(of: ["key", "value", "partition"]),
                    "\(name) \(record.row.type): \(fields)")
            // What differs is the encoding: the converter's JSON string (or the envelope's payload) is our bytes.
            for (theirs, mine) in [(record.key, ours.key), (record.value, ours.value)] {
                let json = try JSONSerialization.jsonObject(with: Data(try #require(theirs)), options: .fragmentsAllowed)
                let text = name == "json-schemas" ? (json as? [String: Any])?["payload"] as? String : json as? String
                #expect(text.map { Array($0.utf8) } == mine, "\(name) \(record.row.type)")
            }
            #expect(Int(ours.partition) == stringRecord.partition)
        }
    }

    /// The Debezium shape's partitioner is the Java producer's; a user's KAFKA_PARTITIONER comes
    /// later and wins. librdkafka's default (consistent_random) puts some golden keys elsewhere.
    @Test func debeziumShapeDefaultsToMurmur2AndKafkaPartitionerWins() throws {
        let client = KafkaClientConfiguration(bootstrapServers: "x:9092", properties: [("partitioner", "consistent_random", "KAFKA_PARTITIONER")],
                                              producerDerived: RecordShape.debezium.producerProperties)
        let properties = client.producerProperties(messageTimeout: .seconds(1), topicPolicy: KafkaTopicPolicy())
        #expect(properties.filter { $0.name == "partitioner" }.map(\.value) == ["murmur2_random", "consistent_random"])
        #expect(RecordShape.cloudEvents.producerProperties.isEmpty)

        let golden = try DebeziumGolden.load("string")
        let (records, _, _) = try publishThroughView(golden, producerProperties: [("partitioner", "consistent_random", "KAFKA_PARTITIONER")])
        let moved = golden.records.filter { record in records[record.row.id].map { Int($0.partition) != record.partition } ?? false }
        #expect(!moved.isEmpty, "librdkafka's consistent_random put every golden key where murmur2 does")
    }

    /// A stored header named like a context header (any case) is the relay's while it sends them,
    /// and the row's when it does not.
    @Test(arguments: [true, false])
    func aStoredContextHeaderIsTheRelaysOnlyWhileItSendsThem(_ enabled: Bool) throws {
        let fixture = try RelayFixture {
            $0.format.shape = .debezium
            $0.format.debeziumContext.enabled = enabled
        }
        let id = UUID()
        try fixture.database.connect().query("""
            INSERT INTO outbox (event_id, aggregate_type, aggregate_id, event_type, payload, headers)
            VALUES ($1, 'Order', 'k', 'T', '{}', '{"__Debezium.Context.RunId": "mine", "x": "y"}')
            """, [id])
        fixture.relay.run()
        fixture.relay.wakeup.wake()
        try fixture.waitUntilNothingPending()
        let record = try #require(try fixture.consume(1, topics: ["outbox.event.Order"]).first)
        #expect(record.header("id") == id.lowercaseString)
        if enabled {
            #expect(record.headers.map(\.name) == DebeziumContext.names + ["id", "x"])
            #expect(record.header("__debezium.context.connectorLogicalName") == "outboxd")
            #expect(record.header("__debezium.context.runId") != "mine")
        } else {
            #expect(record.headers.map(\.name) == ["id", "x", "__Debezium.Context.RunId"]) // jsonb keeps shorter keys first
            #expect(record.header("__Debezium.Context.RunId") == "mine")
        }
    }
}
