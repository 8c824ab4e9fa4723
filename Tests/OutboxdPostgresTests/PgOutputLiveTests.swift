import Foundation
import OutboxdPostgres
import OutboxdTestSupport
import Testing

/// Issue #27: the decoder against the test cluster's own pgoutput (wal_level=logical,
/// scripts/test-env.sh): outbox rows written with `outbox_emit` come out of a slot as the Relation
/// and Insert messages of their columns.
@Suite struct PgOutputLiveTests {
    @Test func outboxInsertsDecodeToTheirColumns() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        // Decoding reads flushed WAL only; the test cluster runs with synchronous_commit=off.
        try connection.executeScript("SET synchronous_commit = on")
        let slot = try OutboxSlot(connection)
        defer { slot.drop() }
        let id = try #require(try connection.query("""
            SELECT outbox_emit(topic => 'orders', key => 'ключ-1', event_type => 'order.placed', payload => '{"total": 9.5}',
                               headers => '{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}') AS id
            """).first?.require(UUID.self, "id"))
        try connection.query("SELECT outbox_emit(topic => 'orders', key => 'k2', event_type => 'order.paid', payload_bytes => '\\x00ff'::bytea)")

        var decoder = PgOutputDecoder()
        let messages = try connection.query("""
            SELECT data FROM pg_logical_slot_peek_binary_changes($1, NULL, NULL, 'proto_version', '1', 'publication_names', 'outbox_test')
            """, [slot.name]).map { try decoder.decode(try $0.require(PostgresBytes.self, "data").bytes) }
        let relation = try #require(messages.compactMap { message -> PgOutputRelation? in
            if case .relation(let relation) = message { return relation }
            return nil
        }.first)
        #expect(relation.namespace == "public" && relation.name == "outbox")
        let inserts = messages.compactMap { message -> [PgOutputValue]? in
            if case .insert(nil, relation.oid, let values) = message { return values }
            return nil
        }
        #expect(inserts.count == 2)
        func column(_ name: String, _ row: [PgOutputValue]) -> PgOutputValue? {
            relation.columns.firstIndex { $0.name == name }.map { row[$0] }
        }
        func text(_ name: String, _ row: [PgOutputValue]) -> String? {
            if case .text(let bytes)? = column(name, row) { return String(decoding: bytes, as: UTF8.self) }
            return nil
        }
        #expect(text("event_id", inserts[0]) == id.lowercaseString)
        #expect(text("aggregate_id", inserts[0]) == "ключ-1")
        #expect(text("payload", inserts[0]) == #"{"total": 9.5}"#)
        #expect(text("headers", inserts[0])?.contains("traceparent") == true)
        #expect(column("payload_bytes", inserts[0]) == .null)
        #expect(column("payload", inserts[1]) == .null && text("payload_bytes", inserts[1]) == #"\x00ff"#)
        #expect(text("tombstone", inserts[0]) == "f")
    }
}
