import Foundation
import OutboxdKafka
@testable import OutboxdOutbox
import OutboxdPostgres
import OutboxdTestSupport
import Testing

/// Issue #26: the columns Debezium users add beside its own (migration 0016), through
/// `outboxd_debezium.outbox`, and what the relay does with a row whose added columns its settings
/// cannot read: that row alone is parked with the reason, the others published.
@Suite struct DebeziumViewTests {
    @Test func addedColumnsRoundTripThroughTheView() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        for (name, type) in [("tenant", "text"), ("version", "integer"), ("big", "bigint"), ("small", "smallint"), ("flag", "boolean"), ("ref", "uuid")] {
            try connection.query("SELECT outboxd_debezium.add_column($1, $2)", [name, type])
        }
        try connection.query("SET search_path = outboxd_debezium, public")
        try connection.query("""
            INSERT INTO outbox (aggregatetype, aggregateid, type, payload, "timestamp", tenant, version, big, small, flag, ref)
            VALUES ('Order', 'a', 'T', '{}', '2026-01-02 03:04:05.123456', 'acme', -7, 9007199254740993, 3, true,
                    '00000000-0000-4000-8000-00000000000c'),
                   ('Order', 'b', 'T', '{}', NULL, NULL, NULL, NULL, NULL, NULL, NULL),
                   ('Order', 'c', 'T', '{}', '1969-12-31 23:59:59.999999', 'zoë "q"', NULL, NULL, NULL, false, NULL)
            """)
        let rows = try connection.query("""
            SELECT aggregateid, "timestamp"::text AS ts, tenant, version, big::text AS big, small, flag, ref::text AS ref FROM outbox ORDER BY aggregateid
            """)
        let read = try rows.map { row in
            try [row.decode(String.self, "aggregateid"), row.decode(String.self, "ts"), row.decode(String.self, "tenant"),
                 row.decode(Int.self, "version").map(String.init), row.decode(String.self, "big"), row.decode(Int.self, "small").map(String.init),
                 row.decode(Bool.self, "flag").map(String.init), row.decode(String.self, "ref")]
        }
        #expect(read == [["a", "2026-01-02 03:04:05.123456", "acme", "-7", "9007199254740993", "3", "true", "00000000-0000-4000-8000-00000000000c"],
                         ["b", nil, nil, nil, nil, nil, nil, nil],
                         ["c", "1969-12-31 23:59:59.999999", "zoë \"q\"", nil, nil, nil, "false", nil]])
        // Stored by name as Debezium's connector reads them (a timestamp in µs), NULLs left out.
        let fields = try connection.query("SELECT aggregate_id, fields::text AS fields FROM public.outbox ORDER BY aggregate_id").map {
            try $0.decode(String.self, "fields")
        }
        #expect(fields == [#"{"big": 9007199254740993, "ref": "00000000-0000-4000-8000-00000000000c", "flag": true, "small": 3, "tenant": "acme", "version": -7, "timestamp": 1767323045123456}"#,
                           nil, #"{"flag": false, "tenant": "zoë \"q\"", "timestamp": -1}"#])

        for (name, type, words) in [("bad name", "text", "columns_name_check"), ("type", "text", "columns_name_check"),
                                    ("amount", "numeric", "columns_type_check"), ("tenant", "text", "columns_name_key")] {
            do {
                try connection.query("SELECT outboxd_debezium.add_column($1, $2)", [name, type])
                Issue.record("added \(name) \(type)")
            } catch let error as PostgresError {
                #expect(error.debugDescription.contains(words), "\(name) \(type): \(error.debugDescription)")
            }
        }
    }

    /// What a Debezium outbox table may take and the view refuses (the README's list): each insert
    /// fails alone, in the writer's transaction, naming the rule; the view's other inserts go on.
    @Test func whatTheViewRefusesIsNamed() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        try connection.query("SET search_path = outboxd_debezium, public")
        let refusals: [(sql: String, parameters: [String?], code: String, words: String)] = [
            ("INSERT INTO outbox (aggregatetype, aggregateid, type, payload) VALUES ('Order', 'k', '', '{}')", [], "23514", "outbox_event_type"),
            ("INSERT INTO outbox (aggregatetype, aggregateid, type, payload) VALUES ('', 'k', 'T', '{}')", [], "23514", "outbox_topic_or_route"),
            ("INSERT INTO outbox (aggregatetype, aggregateid, type, payload) VALUES ('Order', 'k', 'T', $1::text)", ["not json"], "42804", "jsonb"),
            ("INSERT INTO outbox (aggregatetype, aggregateid, type, payload) VALUES ('Order', 'k', 'T', $1::bytea)", ["\\x00ff"], "42804", "jsonb"),
        ]
        for refusal in refusals {
            do {
                try connection.query(refusal.sql, refusal.parameters)
                Issue.record("the view took \(refusal.sql)")
            } catch let error as PostgresError {
                #expect(error.code.raw == refusal.code, "\(refusal.sql): \(error.debugDescription)")
                #expect(error.debugDescription.contains(refusal.words), "\(refusal.sql): \(error.debugDescription)")
            }
        }
        try connection.query("INSERT INTO outbox (aggregatetype, aggregateid, type, payload) VALUES ('Order', 'k', 'T', '{}')")
        #expect(try database.count("outbox") == 1)
    }

    /// `set_payload_type` (migration 0019) makes the view's payload the table's type: text lands in
    /// `payload_bytes` as UTF-8 with the text content type, bytea as it is, NULL as a tombstone
    /// with the column's content type;
    /// the view made again keeps its triggers (the delete a no-op, the update refused) and the
    /// privileges granted on it and its columns, so the writer role goes on writing.
    @Test func aPayloadTypeKeepsTheViewsTriggersAndPrivileges() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let admin = try database.connect()
        defer { admin.close() }
        let role = "shop_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(10)
        // The view owned by another role than the one changing it, a column grant with its grant option.
        try admin.executeScript("""
            CREATE ROLE \(role) LOGIN; GRANT outboxd_writer TO \(role);
            CREATE ROLE \(role)_owner; GRANT SELECT ON public.outbox TO \(role)_owner; ALTER VIEW outboxd_debezium.outbox OWNER TO \(role)_owner;
            GRANT SELECT (type) ON outboxd_debezium.outbox TO \(role) WITH GRANT OPTION
            """)
        defer { _ = try? admin.executeScript("DROP OWNED BY \(role), \(role)_owner; DROP ROLE \(role); DROP ROLE \(role)_owner") }
        let privileges = """
            SELECT c.relowner::regrole::text || ' ' || c.relacl::text || ' ' || (SELECT string_agg(attname || '=' || attacl::text, ',' ORDER BY attnum)
                                                                                 FROM pg_attribute WHERE attrelid = c.oid AND attacl IS NOT NULL) AS acl
            FROM pg_class c WHERE c.oid = 'outboxd_debezium.outbox'::regclass
            """
        let before = try admin.query(privileges).first?.decode(String.self, "acl")
        let service = try PQConnection(conninfo: database.url + (database.url.contains("?") ? "&" : "?") + "user=\(role)")
        defer { service.close() }
        try service.query("SET search_path = outboxd_debezium, public")

        try admin.query("SELECT outboxd_debezium.set_payload_type('text')")
        try service.query("INSERT INTO outbox (aggregatetype, aggregateid, type, payload) VALUES ('Order', 't', 'T', $1::text), ('Order', 'n', 'T', NULL)",
                          ["not JSON: \"ü\" 😀"])
        try admin.query("SELECT outboxd_debezium.set_payload_type('bytea')")
        try service.query("INSERT INTO outbox (aggregatetype, aggregateid, type, payload) VALUES ('Order', 'b', 'T', $1::bytea)", ["\\x00ff80"])
        try admin.query("SELECT outboxd_debezium.set_payload_type('jsonb')")
        try service.query("INSERT INTO outbox (aggregatetype, aggregateid, type, payload) VALUES ('Order', 'j', 'T', '{\"a\": 1}')")
        #expect(try admin.query(privileges).first?.decode(String.self, "acl") == before)
        #expect(before?.hasPrefix("\(role)_owner ") == true && before?.contains("\(role)=r*/") == true, "\(before ?? "")")
        #expect(try service.query("SELECT type FROM outbox LIMIT 1").first?.decode(String.self, "type") == "T")

        let stored = try admin.query("""
            SELECT aggregate_id, payload::text AS payload, encode(payload_bytes, 'hex') AS bytes, content_type, tombstone
            FROM public.outbox ORDER BY id
            """).map { row in
            [try row.decode(String.self, "aggregate_id"), try row.decode(String.self, "payload"), try row.decode(String.self, "bytes"),
             try row.decode(String.self, "content_type"), try row.decode(Bool.self, "tombstone").map { "\($0)" }]
        }
        #expect(stored == [["t", nil, Array("not JSON: \"ü\" 😀".utf8).map { String(format: "%02x", $0) }.joined(), "text/plain; charset=utf-8", "false"],
                           ["n", nil, nil, "text/plain; charset=utf-8", "true"],
                           ["b", nil, "00ff80", "application/octet-stream", "false"],
                           ["j", #"{"a": 1}"#, nil, nil, "false"]])
        // The triggers are the view's again: Debezium's delete does nothing, an update is refused.
        let id = try #require(try admin.query("SELECT event_id::text AS id FROM public.outbox WHERE aggregate_id = 'j'").first?.decode(String.self, "id"))
        try service.query("DELETE FROM outbox WHERE id = $1::uuid", [id])
        #expect(try database.count("outbox") == 4)
        do {
            try admin.query("UPDATE outboxd_debezium.outbox SET type = 'U'")
            Issue.record("the view took an update")
        } catch let error as PostgresError {
            #expect(error.code.raw == "0A000", "\(error.debugDescription)")
        }
        #expect(throws: PostgresError.self) { try admin.query("SELECT outboxd_debezium.set_payload_type('xml')") }
    }

    /// Start-up's check of the options against the view's columns (`Daemon.relayConfiguration`).
    @Test func optionsNamingColumnsTheViewLacksOrCannotUseAreRefused() throws {
        var router = DebeziumRouter()
        router.columns = DebeziumColumn.standard.merging(["timestamp": DebeziumColumn(name: "timestamp", kind: .microTimestamp, optional: true),
                                                          "tenant": DebeziumColumn(name: "tenant", kind: .string, optional: true),
                                                          "big": DebeziumColumn(name: "big", kind: .int64, optional: true)]) { $1 }
        router.eventTimestampField = "timestamp"
        router.additionalFields = try DebeziumAdditionalField.parse("type:header,tenant:envelope:t")
        router.route = try DebeziumTopicRoute(field: "tenant")
        #expect(router.problem() == nil)
        for (change, key, words) in [
            ({ (r: inout DebeziumRouter) in r.eventTimestampField = "ts" }, "OUTBOX_DEBEZIUM_EVENT_TIMESTAMP_FIELD", "add_column('ts'"),
            ({ (r: inout DebeziumRouter) in r.eventTimestampField = "tenant" }, "OUTBOX_DEBEZIUM_EVENT_TIMESTAMP_FIELD", "is text, not timestamp"),
            ({ (r: inout DebeziumRouter) in r.additionalFields = try! DebeziumAdditionalField.parse("big:partition") }, "OUTBOX_DEBEZIUM_ADDITIONAL_PLACEMENT", "from an integer column"),
            ({ (r: inout DebeziumRouter) in r.additionalFields = try! DebeziumAdditionalField.parse("nope:header") }, "OUTBOX_DEBEZIUM_ADDITIONAL_PLACEMENT", "no column nope"),
            ({ (r: inout DebeziumRouter) in r.route = try! DebeziumTopicRoute(field: "big") }, "OUTBOX_DEBEZIUM_ROUTE_BY_FIELD", "routes by a text column"),
            ({ (r: inout DebeziumRouter) in r.route = try! DebeziumTopicRoute(field: "payload") }, "OUTBOX_DEBEZIUM_ROUTE_BY_FIELD", "routes by a text column"),
        ] {
            var changed = router
            change(&changed)
            let problem = changed.problem()
            #expect(problem?.key == key && problem?.message.contains(words) == true, "\(String(describing: problem))")
        }
    }

    /// Java's regex and replacement syntax, as Kafka Connect's RegexRouter applies them.
    @Test func topicRouteIsRegexRoutersReplacement() throws {
        let route = try DebeziumTopicRoute(field: "type", regex: "(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(?:x)?(?<last>z?)", replacement: "$11.$1$0.\\$.${last}")
        #expect(route.topic("abcdefghijkz") == "k.aabcdefghijkz.$.z")
        #expect(route.topic("nomatch") == "nomatch")
        // $12 with 12 groups is group 12 (last); with fewer, $1 then the digit.
        #expect(try DebeziumTopicRoute(regex: "(a)(b)", replacement: "$12").topic("ab") == "a2")
        #expect(try DebeziumTopicRoute(regex: "[(]x(?<n>y)", replacement: "${n}").topic("(xy") == "y")
    }

    @Test func rowsWhoseAddedColumnsCannotBeReadAreParkedAlone() throws {
        let fixture = try RelayFixture(debeziumColumns: [("tenant", "text")]) {
            $0.format.shape = .debezium
            $0.format.debeziumRouter.route = try! DebeziumTopicRoute(field: "tenant", regex: "(.*)", replacement: "tenant.$1")
            $0.format.debeziumRouter.eventTimestampField = "timestamp"
            $0.format.debeziumRouter.additionalFields = try! DebeziumAdditionalField.parse("tenant:header")
        }
        let connection = try fixture.database.connect()
        try connection.query("""
            INSERT INTO outboxd_debezium.outbox (aggregatetype, aggregateid, type, payload, "timestamp", tenant) VALUES
                ('Order', 'ok', 'T', '{}', '2026-01-02 03:04:05', 'acme'),
                ('Order', 'no-tenant', 'T', '{}', NULL, NULL),
                ('Order', 'old', 'T', '{}', '1969-12-31 23:59:59', 'acme')
            """)
        // Written past the view, as another service might: a number where the column is text.
        try connection.query("""
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload, fields) VALUES ('Order', 'number', 'T', '{}', '{"tenant": 5}')
            """)
        fixture.relay.run()
        fixture.relay.wakeup.wake()
        try fixture.waitUntilNothingPending()
        let parked = try connection.query("SELECT aggregate_id, last_error FROM outbox WHERE parked_at IS NOT NULL ORDER BY aggregate_id").map {
            (try $0.require(String.self, "aggregate_id"), try $0.require(String.self, "last_error"))
        }
        #expect(parked.map(\.0) == ["no-tenant", "number", "old"])
        #expect(parked[0].1.contains("route.by.field tenant is NULL"), "\(parked[0].1)")
        #expect(parked[1].1.contains("fields.tenant is a JSON number, not a value of column tenant (text)"), "\(parked[1].1)")
        #expect(parked[2].1.contains("timestamp is before 1970"), "\(parked[2].1)")
        let record = try #require(try fixture.consume(1, topics: ["tenant.acme"]).first)
        #expect(record.key == Array("ok".utf8))
        #expect(record.header("tenant") == "acme")
        #expect(record.timestampMilliseconds == 1_767_323_045_000)
    }
}
