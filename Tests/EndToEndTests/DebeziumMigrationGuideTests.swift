import Foundation
import OutboxdKafka
import OutboxdPostgres
import OutboxdTestSupport
import Testing

/// Issue #26: the README's "Moving from Debezium's outbox event router", step by step, as a team
/// would take it: the service's role and search path from step 1, its Debezium-style writes, then
/// `outboxd relay` with step 3's settings for its converter, read straight from the README. A
/// consumer written against Debezium's records (the golden ones, `Tests/Fixtures/debezium`) reads
/// outboxd's the same way: same topic, event, key, payload, partition.
@Suite struct DebeziumMigrationGuideTests {
    /// The `KEY=VALUE` lines of the README's block after `<!-- guide: name -->`.
    static func guideSettings(_ name: String) throws -> [String: String] {
        let readme = try String(contentsOf: TestEnvironment.repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let marker = try #require(readme.range(of: "<!-- guide: \(name) -->"), "the README has no guide block \(name)")
        let block = readme[marker.upperBound...].split(separator: "```", maxSplits: 2, omittingEmptySubsequences: false)[1]
        var settings: [String: String] = [:]
        for line in block.split(separator: "\n") where !line.hasPrefix("#") && !line.hasPrefix("sh") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { settings[String(parts[0])] = String(parts[1]) }
        }
        return settings
    }

    /// One record as a consumer of Debezium's records reads it under `converter`: the topic, the
    /// event id (header `id`), the key's text, the payload (JSON text, nil for none) and the partition.
    struct Read: Equatable {
        let topic: String, eventID: String, key: String, payload: String?, partition: Int
    }

    static func read(topic: String, key: [UInt8], value: [UInt8]?, eventID: String, partition: Int, converter: String) throws -> Read {
        func unwrap(_ bytes: [UInt8]) throws -> Any {
            let json = try JSONSerialization.jsonObject(with: Data(bytes), options: .fragmentsAllowed)
            return converter == "json" ? ((json as? [String: Any])?["payload"] ?? NSNull()) : json
        }
        switch converter {
        case "string":
            return Read(topic: topic, eventID: eventID, key: String(decoding: key, as: UTF8.self), payload: value.map { String(decoding: $0, as: UTF8.self) },
                        partition: partition)
        default:
            let keyText = try #require(try unwrap(key) as? String)
            let payload = try value.map(unwrap) as? String
            return Read(topic: topic, eventID: eventID, key: keyText, payload: payload, partition: partition)
        }
    }

    @Test(arguments: [("string", "string"), ("json-schemaless", "json-schemaless"), ("json", "json-schemas")])
    func aDebeziumConsumerReadsOutboxdsRecordsAsItReadDebeziums(_ guide: String, _ fixture: String) throws {
        let golden = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: TestEnvironment.repositoryRoot
            .appendingPathComponent("Tests/Fixtures/debezium/\(fixture).json"))) as? [String: Any])
        let records = try #require(golden["records"] as? [[String: Any]])
        let partitions = try #require(golden["partitions"] as? Int)
        func bytes(_ base64: Any?) -> [UInt8]? { (base64 as? String).flatMap { Data(base64Encoded: $0) }.map { Array($0) } }

        let database = try TestDatabase.create()
        defer { database.drop() }
        // Step 1: the service's role.
        let role = "shop_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(10)
        let admin = try database.connect()
        defer { admin.close() }
        try admin.executeScript("CREATE ROLE \(role) LOGIN; GRANT outboxd_writer TO \(role); ALTER ROLE \(role) SET search_path = outboxd_debezium, public")
        defer { _ = try? admin.executeScript("DROP OWNED BY \(role); DROP ROLE \(role)") }
        let service = try PQConnection(conninfo: database.url + (database.url.contains("?") ? "&" : "?") + "user=\(role)")
        defer { service.close() }
        for record in records {
            let row = try #require(record["row"] as? [String: Any])
            // Debezium's pattern, unchanged: insert into "outbox", then delete the row.
            try service.query("INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload) VALUES ($1::uuid, $2, $3, $4, $5::jsonb)",
                              [row["id"] as? String, row["aggregatetype"] as? String, row["aggregateid"] as? String, row["type"] as? String,
                               row["payload"] as? String])
            try service.query("DELETE FROM outbox WHERE id = $1::uuid", [row["id"] as? String])
        }

        // Step 3: the relay with the README's settings, on topics of the partition count Debezium's had.
        let topics = Array(Set(records.compactMap { $0["topic"] as? String })).sorted()
        let kafka = try RDKafkaMockCluster(brokers: 3, topics: topics.map { ($0, partitions) })
        var environment = try Self.guideSettings(guide)
        #expect(environment["OUTBOX_DEBEZIUM_CONVERTER"] == guide)
        environment["DATABASE_URL"] = database.url
        environment["KAFKA_BOOTSTRAP_SERVERS"] = kafka.bootstrapServers
        let relay = try DaemonProcess(arguments: ["relay"], environment: environment)
        defer { relay.signal(SIGTERM); _ = try? relay.waitForExit() }
        try relay.showingOutputOnFailure {
            try waitUntil("every row is published") { try database.count("outbox", where: "published_at IS NULL") == 0 }
        }
        #expect(try database.count("outbox", where: "parked_at IS NOT NULL") == 0)

        let consumer = try RDKafkaConsumer(configuration: KafkaClientConfiguration(bootstrapServers: kafka.bootstrapServers),
                                           groupID: "guide-\(UUID())", topics: topics)
        let ours = try consumer.read(count: records.count, timeout: .seconds(60))
        #expect(ours.count == records.count)
        var theirsByID: [String: Read] = [:]
        for record in records {
            let id = try #require((record["row"] as? [String: Any])?["id"] as? String)
            theirsByID[id] = try Self.read(topic: try #require(record["topic"] as? String), key: bytes(record["key_base64"]) ?? [], value: bytes(record["value_base64"]), eventID: id,
                                           partition: try #require(record["partition"] as? Int), converter: guide)
        }
        for record in ours {
            let id = try #require(record.header("id"))
            let read = try Self.read(topic: record.topic, key: record.key, value: record.isTombstone ? nil : record.value, eventID: id,
                                     partition: Int(record.partition), converter: guide)
            #expect(read == theirsByID[id], "\(guide): outboxd's record of \(id)")
            #expect(record.header("__debezium.context.connectorLogicalName") == environment["OUTBOX_DEBEZIUM_LOGICAL_NAME"])
        }
        #expect(Set(ours.compactMap { $0.header("id") }) == Set(theirsByID.keys))
    }

    /// The router options name columns of the view: one it lacks, or cannot use as asked, stops
    /// the relay at start-up (78, no restart mends it) naming the key, the column and how to add
    /// it; once the column is added, the same settings start.
    @Test func optionsNamingAColumnTheViewLacksStopStartUp() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try RDKafkaMockCluster(brokers: 1, topics: [])
        var environment = ["DATABASE_URL": database.url, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrapServers, "OUTBOX_RECORD_SHAPE": "debezium",
                           "CONSUMERS": "none", "OUTBOX_DEBEZIUM_ADDITIONAL_PLACEMENT": "tenant:header,type:envelope:eventType"]
        let refused = try DaemonProcess(arguments: ["relay"], environment: environment)
        #expect(try refused.waitForExit() == 78)
        #expect(refused.output.contains("OUTBOX_DEBEZIUM_ADDITIONAL_PLACEMENT: the view outboxd_debezium.outbox has no column tenant; "
                                        + "add it as the replaced table has it, e.g. SELECT outboxd_debezium.add_column('tenant', 'text')"), "\(refused.output)")
        environment["OUTBOX_DEBEZIUM_EVENT_TIMESTAMP_FIELD"] = "tenant"
        try database.connect().query("SELECT outboxd_debezium.add_column('tenant', 'text')")
        let wrongType = try DaemonProcess(arguments: ["relay"], environment: environment)
        #expect(try wrongType.waitForExit() == 78)
        #expect(wrongType.output.contains("OUTBOX_DEBEZIUM_EVENT_TIMESTAMP_FIELD: column tenant is text, not timestamp"), "\(wrongType.output)")

        environment["OUTBOX_DEBEZIUM_EVENT_TIMESTAMP_FIELD"] = "timestamp"
        let relay = try DaemonProcess(arguments: ["relay"], environment: environment)
        defer { relay.signal(SIGTERM); _ = try? relay.waitForExit() }
        try database.connect().query("""
            INSERT INTO outboxd_debezium.outbox (aggregatetype, aggregateid, type, payload, "timestamp", tenant)
            VALUES ('Order', 'o1', 'OrderPlaced', '{"id": 1}', '2026-01-02 03:04:05', 'acme')
            """)
        try relay.showingOutputOnFailure {
            try waitUntil("the row is published") { try database.count("outbox", where: "published_at IS NOT NULL") == 1 }
        }
        let consumer = try RDKafkaConsumer(configuration: KafkaClientConfiguration(bootstrapServers: kafka.bootstrapServers),
                                           groupID: "guide-\(UUID())", topics: ["outbox.event.Order"])
        let record = try #require(try consumer.read(count: 1, timeout: .seconds(30)).first)
        #expect(record.header("tenant") == "acme")
        #expect(String(decoding: record.value, as: UTF8.self) == #"Struct{payload={"id": 1},eventType=OrderPlaced}"#)
        #expect(record.timestampMilliseconds == 1_767_323_045_000)
    }
}
