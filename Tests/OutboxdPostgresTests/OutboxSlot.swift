import Foundation
import OutboxdPostgres

/// A pgoutput slot and an insert-only publication of `outbox` in a test database, for the logical
/// decoding tests. `drop` removes the slot: a database with a slot cannot be dropped, and slots
/// belong to the cluster.
struct OutboxSlot {
    let name = "outboxd_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
    let publication = "outbox_test"
    let connection: PQConnection

    init(_ connection: PQConnection) throws {
        self.connection = connection
        try connection.query("CREATE PUBLICATION outbox_test FOR TABLE outbox WITH (publish = 'insert')")
        try connection.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [name])
    }

    /// START_REPLICATION's options for this publication.
    var options: [(name: String, value: String)] { [("proto_version", "1"), ("publication_names", publication)] }

    func drop() {
        _ = try? connection.query("SELECT pg_drop_replication_slot($1)", [name])
    }
}
