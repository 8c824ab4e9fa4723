import Foundation
import OutboxdCore
import OutboxdKafka
import OutboxdPostgres
import OutboxdTestSupport
import Testing
@testable import OutboxdOutbox

/// The outbox as other services write it (migration 0011, README "Publishing from your own
/// service"): rows written with SQL alone, read back from Kafka.
@Suite struct OutboxContractTests {
    static let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    /// A relay for `source`. In WAL mode it is already streaming and polls hourly, so what the
    /// test writes next is published only because the stream heard its commit.
    func relay(_ source: RelaySource, configure: (inout RelayConfiguration) -> Void = { _ in }) throws -> RelayFixture {
        let fixture = try RelayFixture(source: source) {
            configure(&$0)
            if source == .wal { $0.pollInterval = .seconds(3600) }
        }
        if source == .wal { try fixture.start() }
        return fixture
    }

    /// Runs the relay (poll mode: woken once) until no row is pending.
    func run(_ fixture: RelayFixture) throws {
        if fixture.relay.configuration.source == .poll {
            fixture.relay.run()
            fixture.relay.wakeup.wake()
        }
        try fixture.waitUntilNothingPending()
    }

    /// Runs the relay until no row is pending; none may be parked.
    func publish(_ fixture: RelayFixture) throws {
        try run(fixture)
        #expect(try fixture.database.count("outbox", where: "parked_at IS NOT NULL") == 0)
    }

    /// `outbox_emit` with named arguments and the plain INSERT the README calls equivalent give
    /// the same record: topic, key, value, CloudEvents headers, then the stored ones.
    @Test(arguments: RelaySource.allCases) func emitWithNamedArgumentsAndThePlainInsertGiveTheSameRecord(_ source: RelaySource) throws {
        let fixture = try relay(source)
        let connection = try fixture.database.connect()
        let emitted = try #require(try connection.query("""
            SELECT outbox_emit(topic => 'orders', key => 'order-1', event_type => 'order.placed',
                               payload => '{"total": 5}', headers => '{"tenant": "acme"}') AS id
            """).first?.require(UUID.self, "id"))
        let inserted = try #require(try connection.query("""
            INSERT INTO outbox (topic, aggregate_id, event_type, payload, headers)
            VALUES ('orders', 'order-2', 'order.placed', '{"total": 6}', '{"tenant": "acme"}') RETURNING event_id
            """).first?.require(UUID.self, "event_id"))
        try publish(fixture)
        let records = try fixture.consume(2, topics: ["orders"])
        let byID = Dictionary(uniqueKeysWithValues: try records.map { (try #require($0.header("ce_id")), $0) })
        let first = try #require(byID[emitted.lowercaseString])
        let second = try #require(byID[inserted.lowercaseString])
        #expect(String(decoding: first.key, as: UTF8.self) == "order-1")
        #expect(String(decoding: first.value, as: UTF8.self) == #"{"total": 5}"#)
        #expect(String(decoding: second.key, as: UTF8.self) == "order-2")
        #expect(String(decoding: second.value, as: UTF8.self) == #"{"total": 6}"#)
        for record in [first, second] {
            #expect(record.topic == "orders")
            #expect(record.headers.map(\.name) == ["ce_id", "ce_type", "ce_source", "ce_time", "ce_specversion", "content-type", "tenant"])
            #expect(record.header("ce_type") == "order.placed")
            #expect(record.header("content-type") == "application/json")
            #expect(record.header("tenant") == "acme")
        }
    }

    /// A bytea payload goes out byte for byte (NUL and invalid UTF-8 included) with the row's
    /// content type, or application/octet-stream when the row names none.
    @Test(arguments: RelaySource.allCases) func bytesPayloadsGoOutByteForByteWithTheirContentType(_ source: RelaySource) throws {
        let fixture = try relay(source)
        let connection = try fixture.database.connect()
        let avro: [UInt8] = [0x00, 0xFF, 0xFE, 0x0A, 0x22, 0x5C, 0x80, 0x00, 0x41]
        let typed = try #require(try connection.query("""
            SELECT outbox_emit(topic => 'blobs', key => 'b1', event_type => 'blob.stored', payload_bytes => $1::bytea,
                               content_type => 'application/avro') AS id
            """, [PostgresBytes(avro)]).first?.require(UUID.self, "id"))
        let untyped = try #require(try connection.query("""
            SELECT outbox_emit(topic => 'blobs', key => 'b2', event_type => 'blob.stored', payload_bytes => '\\x'::bytea) AS id
            """).first?.require(UUID.self, "id"))
        try publish(fixture)
        let records = try fixture.consume(2, topics: ["blobs"])
        let byID = Dictionary(uniqueKeysWithValues: try records.map { (try #require($0.header("ce_id")), $0) })
        let first = try #require(byID[typed.lowercaseString])
        #expect(first.value == avro)
        #expect(first.header("content-type") == "application/avro")
        let empty = try #require(byID[untyped.lowercaseString])
        #expect(empty.value.isEmpty)
        #expect(empty.header("content-type") == "application/octet-stream")
    }

    /// A row without a topic goes where the route sends it; `message_key` and `message_partition`
    /// replace the key and the partitioner; a routed name no topic can have parks the row with
    /// the reason, and the other rows still go out.
    @Test(arguments: RelaySource.allCases) func routedTopicsKeysAndPartitions(_ source: RelaySource) throws {
        let fixture = try relay(source) { $0.format.route = try! TopicRoute("svc.{aggregate_type}.{event_type}") }
        let connection = try fixture.database.connect()
        try connection.executeScript("""
            SELECT outbox_emit(topic => NULL, key => 'k1', event_type => 'created', payload => '{"n": 1}', aggregate_type => 'Order');
            SELECT outbox_emit(topic => '', key => 'k2', event_type => 'created', payload => '{"n": 2}', aggregate_type => 'Order',
                               message_key => 'customer-7', message_partition => 2);
            SELECT outbox_emit(topic => '', key => 'k3', event_type => 'created', payload => '{"n": 3}', aggregate_type => 'bad type');
            """)
        try run(fixture)
        let records = try fixture.consume(2, topics: ["svc.Order.created"])
        let byValue = Dictionary(uniqueKeysWithValues: records.map { (String(decoding: $0.value, as: UTF8.self), $0) })
        #expect(Set(byValue.keys) == [#"{"n": 1}"#, #"{"n": 2}"#])
        #expect(byValue[#"{"n": 1}"#].map { String(decoding: $0.key, as: UTF8.self) } == "k1")
        #expect(byValue[#"{"n": 2}"#].map { String(decoding: $0.key, as: UTF8.self) } == "customer-7")
        #expect(byValue[#"{"n": 2}"#]?.partition == 2)
        let parked = try #require(try connection.query("SELECT last_error FROM outbox WHERE aggregate_id = 'k3' AND parked_at IS NOT NULL").first)
        let reason = try parked.require(String.self, "last_error")
        #expect(reason.contains("\"svc.bad type.created\" is not a Kafka topic name"), "\(reason)")
        // Kept history says where each routed event went; the parked row still waits for a route.
        let topics = try connection.query("SELECT aggregate_id, topic FROM outbox ORDER BY aggregate_id").map {
            "\(try $0.require(String.self, "aggregate_id"))=\(try $0.require(String.self, "topic"))"
        }
        #expect(topics == ["k1=svc.Order.created", "k2=svc.Order.created", "k3="])
    }

    /// What a writer may not write is refused with an error that names it, and leaves nothing.
    @Test func writesOutsideTheContractAreRefusedByName() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        let refused: [(sql: String, code: PostgresError.Code, names: String)] = [
            ("INSERT INTO outbox (topic, aggregate_id, event_type, payload, published_at, attempts) VALUES ('t', 'k', 'e', '{}', now(), 3)",
             "42501", "attempts, published_at set by the relay"),
            ("INSERT INTO outbox (topic, aggregate_id, event_type, payload, parked_at) VALUES ('t', 'k', 'e', '{}', now())", "42501", "parked_at"),
            ("SELECT outbox_emit(topic => 't', key => 'k', event_type => 'e', payload => '{}', payload_bytes => '\\x00')",
             .checkViolation, "outbox_one_payload"),
            ("SELECT outbox_emit(topic => 't', key => 'k', event_type => 'e')", .checkViolation, "outbox_one_payload"),
            ("SELECT outbox_emit(topic => '', key => 'k', event_type => 'e', payload => '{}')", .checkViolation, "outbox_topic_or_route"),
            ("SELECT outbox_emit(topic => 'no spaces', key => 'k', event_type => 'e', payload => '{}')", .checkViolation, "outbox_topic_name"),
            ("SELECT outbox_emit(topic => 't', key => 'k', event_type => 'e', payload => '{}', message_partition => -1)",
             .checkViolation, "outbox_message_partition"),
            ("SELECT outbox_emit(topic => 't', key => 'k', event_type => 'e', payload => '{}', content_type => E'text/plain\\n')",
             .checkViolation, "outbox_content_type"),
            ("SELECT outbox_emit(topic => 't', key => 'k', event_type => '', payload => '{}')", .checkViolation, "outbox_event_type"),
            ("SELECT outbox_emit(topic => 't', key => NULL, event_type => 'e', payload => '{}')", .notNullViolation, "aggregate_id"),
            // Migration 0012: created_at is the relay's, and names Kafka refuses to produce to.
            ("INSERT INTO outbox (topic, aggregate_id, event_type, payload, created_at) VALUES ('t', 'k', 'x', '{}', 'infinity')",
             "42501", "created_at set by the relay"),
            ("INSERT INTO outbox (topic, aggregate_id, event_type, payload, created_at) VALUES ('t', 'k', 'x', '{}', now() - interval '1 day')",
             "42501", "created_at"),
            ("INSERT INTO outbox (id, topic, aggregate_id, event_type, payload) VALUES (5, 't', 'k', 'x', '{}')", "428C9", "column \"id\""),
            ("INSERT INTO outbox (shard, topic, aggregate_id, event_type, payload) VALUES (5, 't', 'k', 'x', '{}')", "428C9", "column \"shard\""),
            ("SELECT outbox_emit(topic => '.', key => 'k', event_type => 'e', payload => '{}')", .checkViolation, "outbox_topic_name"),
            ("SELECT outbox_emit(topic => '..', key => 'k', event_type => 'e', payload => '{}')", .checkViolation, "outbox_topic_name"),
            ("SELECT outbox_emit(topic => '__consumer_offsets', key => 'k', event_type => 'e', payload => '{}')", .checkViolation, "outbox_topic_name"),
            // Migration 0015: a tombstone has no payload; a row without one must be a tombstone.
            ("INSERT INTO outbox (topic, aggregate_id, event_type, payload, tombstone) VALUES ('t', 'k', 'e', '{}', true)",
             .checkViolation, "outbox_one_payload"),
            ("INSERT INTO outbox (topic, aggregate_id, event_type, payload_bytes, tombstone) VALUES ('t', 'k', 'e', '\\x00', true)",
             .checkViolation, "outbox_one_payload"),
            ("INSERT INTO outbox (topic, aggregate_id, event_type, tombstone) VALUES ('t', 'k', 'e', false)", .checkViolation, "outbox_one_payload"),
        ]
        for (sql, code, names) in refused {
            do {
                try connection.query(sql)
                Issue.record("accepted: \(sql)")
            } catch let error as PostgresError {
                #expect(error.code == code, "\(sql): \(error.debugDescription)")
                #expect("\(error.message) \(error.constraint ?? "")".contains(names), "\(sql): \(error.debugDescription)")
            }
        }
        #expect(try database.count("outbox") == 0)
        // The default time, and one a writer happens to give close to it, are taken; the size is measured.
        try connection.query("INSERT INTO outbox (topic, aggregate_id, event_type, payload, created_at, payload_size) VALUES ('t', 'k', 'x', '{\"a\": 1}', now(), 1)")
        try connection.query("SELECT outbox_emit(topic => 't', key => 'k', event_type => 'e', payload_bytes => '\\x000102')")
        #expect(try connection.query("SELECT payload_size FROM outbox ORDER BY id").map { try $0.require(Int.self, "payload_size") } == [8, 3])
    }

    /// `GRANT outboxd_writer TO app` gives the rights to emit (function, plain INSERT, the
    /// Debezium view) and nothing else: no reading payloads, no changing or deleting rows.
    @Test func theWriterRoleMayEmitAndNothingElse() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let role = "app_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        let admin = try database.connect()
        try admin.query("SELECT outboxd_debezium.add_column('tenant', 'text')")
        try admin.executeScript("CREATE ROLE \(role) LOGIN; GRANT outboxd_writer TO \(role)")
        defer { _ = try? admin.executeScript("DROP OWNED BY \(role); DROP ROLE \(role)") }
        let app = try PQConnection(conninfo: database.url + (database.url.contains("?") ? "&" : "?") + "user=\(role)")
        defer { app.close() }
        let id = try #require(try app.query("""
            SELECT outbox_emit(topic => 'orders', key => 'o1', event_type => 'order.placed', payload => '{}') AS id
            """).first?.require(UUID.self, "id"))
        try app.query("INSERT INTO outbox (topic, aggregate_id, event_type, payload) VALUES ('orders', 'o2', 'order.placed', '{}')")
        try app.query("""
            INSERT INTO outboxd_debezium.outbox (id, aggregatetype, aggregateid, type, payload)
            VALUES (gen_random_uuid(), 'Order', 'o3', 'OrderPlaced', '{}')
            """)
        // Tombstones (migration 0015): set directly, and a NULL payload through the view.
        try app.query("INSERT INTO outbox (topic, aggregate_id, event_type, tombstone) VALUES ('orders', 'o4', 'order.deleted', true)")
        try app.query("INSERT INTO outboxd_debezium.outbox (aggregatetype, aggregateid, type, payload) VALUES ('Order', 'o5', 'OrderDeleted', NULL)")
        // Added columns (migration 0016): the event time and a column added by the owner.
        try app.query("""
            INSERT INTO outboxd_debezium.outbox (aggregatetype, aggregateid, type, payload, "timestamp", tenant)
            VALUES ('Order', 'o6', 'OrderPlaced', '{}', '2026-01-02 03:04:05', 'acme')
            """)
        // Table-less events (migration 0017), once a WAL relay's slot is registered; the registry is the relay's.
        let slot = "outboxd_role_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        try admin.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [String(slot)])
        try admin.query("INSERT INTO outbox_wal_slots (slot_name) VALUES ($1)", [String(slot)])
        #expect(try app.query("""
            SELECT outbox_emit_message(topic => 'orders', key => 'o7', event_type => 'order.placed', payload => '{}') AS id
            """).first?.decode(UUID.self, "id") != nil)
        for sql in ["SELECT outboxd_debezium.add_column('x', 'text')", "DELETE FROM outboxd_debezium.columns",
                    "UPDATE outbox SET fields = '{}'", "DELETE FROM outbox_wal_slots", "INSERT INTO outbox_wal_slots VALUES ('x')"] {
            do {
                try app.query(sql)
                Issue.record("allowed: \(sql)")
            } catch let error as PostgresError {
                #expect(error.code == "42501", "\(sql): \(error.debugDescription)")
            }
        }
        #expect(try database.count("outbox", where: "aggregate_id = 'o6' AND fields = '{\"tenant\": \"acme\", \"timestamp\": 1767323045000000}'") == 1)
        try admin.query("DELETE FROM outbox WHERE aggregate_id = 'o6'")
        for sql in ["UPDATE outbox SET published_at = now()", "DELETE FROM outbox", "SELECT payload FROM outbox",
                    "UPDATE outbox SET payload = '{}'", "TRUNCATE outbox",
                    "INSERT INTO outbox_queue (id, shard, aggregate_id) VALUES (1, 0, 'o1')", "DELETE FROM outbox_queue"] {
            do {
                try app.query(sql)
                Issue.record("allowed: \(sql)")
            } catch let error as PostgresError {
                #expect(error.code == "42501", "\(sql): \(error.debugDescription)")
            }
        }
        #expect(try database.count("outbox") == 5)
        #expect(try database.count("outbox", where: "tombstone AND payload IS NULL AND payload_bytes IS NULL AND payload_size = 0") == 2)
        #expect(try database.count("outbox", where: "event_id = $1 AND published_at IS NULL", [id]) == 1)
        // Each of the writes queued its row for the relay (migration 0014), as the owner.
        #expect(try database.count("outbox_queue", where: "id IN (SELECT id FROM outbox)") == 5)
    }

    /// A tombstone row (migration 0015) in the CloudEvents shape: a record with a null value and
    /// the `ce_*` headers but `content-type` (no data, no data content type), in its key's order.
    @Test(arguments: RelaySource.allCases) func aTombstoneIsARecordWithANullValue(_ source: RelaySource) throws {
        let fixture = try relay(source)
        let connection = try fixture.database.connect()
        try connection.query("""
            INSERT INTO outbox (topic, aggregate_id, event_type, payload) VALUES ('orders', 'o1', 'order.placed', '{"n": 1}');
            """)
        let deleted = try #require(try connection.query("""
            INSERT INTO outbox (topic, aggregate_id, event_type, tombstone, headers)
            VALUES ('orders', 'o1', 'order.deleted', true, '{"tenant": "acme"}') RETURNING event_id
            """).first?.require(UUID.self, "event_id"))
        try publish(fixture)
        let records = try fixture.consume(2, topics: ["orders"])
        #expect(records.map { $0.header("ce_type") } == ["order.placed", "order.deleted"])
        let tombstone = try #require(records.last)
        #expect(tombstone.isTombstone)
        #expect(String(decoding: tombstone.key, as: UTF8.self) == "o1")
        #expect(tombstone.header("ce_id") == deleted.lowercaseString)
        #expect(tombstone.headers.map(\.name) == ["ce_id", "ce_type", "ce_source", "ce_time", "ce_specversion", "tenant"])
        #expect(records.first?.isTombstone == false && records.first?.header("content-type") == "application/json")
    }

    /// Debezium's outbox writes, word for word (its default column names, its insert-then-delete
    /// habit, a span context as java.util.Properties text), become the records Debezium's outbox
    /// event router makes by default: topic outbox.event.<aggregatetype>, key aggregateid, value
    /// payload, header id, and the span context's traceparent.
    @Test(arguments: RelaySource.allCases) func debeziumRowsBecomeDebeziumRecords(_ source: RelaySource) throws {
        let fixture = try relay(source) { $0.format.shape = .debezium }
        let connection = try fixture.database.connect()
        let id = UUID(), untraced = UUID()
        try connection.query("SET search_path = outboxd_debezium, public")
        try connection.query("""
            INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, tracingspancontext)
            VALUES ($1, 'Order', '42', 'OrderCreated', '{"id": 42, "lineItems": []}', $2)
            """, [id, "#Mon Dec 01 12:00:00 UTC 2026\ntraceparent=\(Self.traceparent)\n"])
        try connection.query("DELETE FROM outbox WHERE id = $1", [id])
        try connection.query("""
            INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload) VALUES ($1, 'Order', '43', 'OrderCreated', '{"id": 43}')
            """, [untraced])
        do {
            try connection.query("UPDATE outbox SET payload = '{}' WHERE id = $1", [id])
            Issue.record("an update of the Debezium view was accepted")
        } catch let error as PostgresError {
            #expect(error.code == "0A000", "\(error.debugDescription)")
        }
        try publish(fixture)
        let records = try fixture.consume(2, topics: ["outbox.event.Order"])
        let byID = Dictionary(uniqueKeysWithValues: try records.map { (try #require($0.header("id")), $0) })
        let traced = try #require(byID[id.lowercaseString])
        #expect(traced.topic == "outbox.event.Order")
        #expect(String(decoding: traced.key, as: UTF8.self) == "42")
        #expect(String(decoding: traced.value, as: UTF8.self) == #"{"id": 42, "lineItems": []}"#)
        #expect(traced.headers.map(\.name) == DebeziumContext.names + ["id", "traceparent"])
        #expect(traced.header("traceparent") == Self.traceparent)
        let plain = try #require(byID[untraced.lowercaseString])
        #expect(plain.headers.map(\.name) == DebeziumContext.names + ["id"])
        #expect(String(decoding: plain.key, as: UTF8.self) == "43")
    }

    @Test func topicRoutesAreCheckedWhenRead() throws {
        #expect(try TopicRoute("outbox.event.{aggregate_type}").topic(aggregateType: "Order", eventType: "x") == "outbox.event.Order")
        #expect(try TopicRoute("{event_type}").topic(aggregateType: "a", eventType: "task.created") == "task.created")
        #expect(try TopicRoute("fixed").topic(aggregateType: "a", eventType: "b") == "fixed")
        for (template, reason) in [("", "must not be empty"), ("a.{aggregate", "unclosed"), ("x.{tenant}", "unknown placeholder {tenant}"),
                                   ("has space.{aggregate_type}", "characters a Kafka topic name cannot have")] {
            #expect(throws: TopicRoute.Invalid.self) { try TopicRoute(template) }
            do { _ = try TopicRoute(template) } catch { #expect(error.description.contains(reason), "\(template): \(error)") }
        }
    }

    /// `outbox_emit_message` (migration 0017) checks an event as the outbox's trigger (0018)
    /// checks a row: for each event below, both accept it or both name the same constraint. Once
    /// the relay's slot is gone, a new session's emit is refused (55000): no relay would read it.
    @Test func anEmittedMessageIsCheckedAsARowIs() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let admin = try database.connect()
        defer { admin.close() }
        let slot = "outboxd_check_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        try admin.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [String(slot)])
        try admin.query("INSERT INTO outbox_wal_slots (slot_name) VALUES ($1)", [String(slot)])
        typealias Event = (topic: String, aggregateType: String, eventType: String, payload: String?, bytes: String?, contentType: String?, partition: Int?)
        let a = String(repeating: "a", count: 249)
        let events: [Event] = [
            ("orders", "", "order.placed", "{}", nil, nil, nil), ("bad topic", "", "e", "{}", nil, nil, nil), (a, "", "e", "{}", nil, nil, nil),
            (a + "a", "", "e", "{}", nil, nil, nil), ("..", "", "e", "{}", nil, nil, nil), ("__consumer_offsets", "", "e", "{}", nil, nil, nil),
            ("ordérs", "", "e", "{}", nil, nil, nil), ("", "", "e", "{}", nil, nil, nil), ("", "Order", "e", "{}", nil, nil, nil),
            ("orders", "", "", "{}", nil, nil, nil), ("orders", "", "e", "{}", "00ff", nil, nil), ("orders", "", "e", nil, nil, nil, nil),
            ("orders", "", "e", nil, "00ff", "application/x-protobuf", nil), ("orders", "", "e", "{}", nil, " x", nil),
            ("orders", "", "e", "{}", nil, String(repeating: "c", count: 255), nil), ("orders", "", "e", "{}", nil, String(repeating: "c", count: 256), nil),
            ("orders", "", "e", "{}", nil, "text/plain\n", nil), ("orders", "", "e", "{}", nil, "tëxt/plain", nil),
            ("orders", "", "e", "{}", nil, nil, -1), ("orders", "", "e", "{}", nil, nil, 0),
        ]
        func outcome(_ function: String, _ event: Event) throws -> String {
            try admin.executeScript("SAVEPOINT e")
            do {
                try admin.query("""
                    SELECT \(function)($1, 'k', $2, $3::jsonb, '{}', $4, decode($5, 'hex'), $6, NULL, $7::int) AS id
                    """, [event.topic, event.eventType, event.payload, event.aggregateType, event.bytes, event.contentType, event.partition])
                try admin.executeScript("RELEASE SAVEPOINT e")
                return "accepted"
            } catch let error as PostgresError {
                try admin.executeScript("ROLLBACK TO SAVEPOINT e")
                return "\(error.code.raw) \(error.constraint ?? "-")"
            }
        }
        try admin.executeScript("BEGIN")
        var accepted = 0
        for event in events {
            let row = try outcome("outbox_emit", event)
            #expect(try outcome("outbox_emit_message", event) == row, "\(event)")
            if row == "accepted" { accepted += 1 }
        }
        try admin.executeScript("ROLLBACK")
        #expect(accepted == 6, "the valid events of the list")

        try admin.query("DELETE FROM outbox_wal_slots")
        let writer = try database.connect()
        defer { writer.close() }
        #expect {
            try writer.query("SELECT outbox_emit_message('orders', 'k', 'e', '{}')")
        } throws: { error in
            (error as? PostgresError)?.code == .objectNotInPrerequisiteState
        }
    }
}
