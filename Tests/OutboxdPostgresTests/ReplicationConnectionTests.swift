import Foundation
import OutboxdPostgres
import OutboxdTestSupport
import Testing

/// Issue #27: a logical replication connection to the test cluster (wal_level=logical): the
/// slot's changes stream as pgoutput messages, a status update confirms the slot's position (a
/// new stream starts after it), and the server's keepalives ask for one.
@Suite struct ReplicationConnectionTests {
    struct Stream {
        let connection: PQConnection
        var decoder = PgOutputDecoder()

        /// The next pgoutput message, answering keepalives; nil when none came within `timeout`.
        mutating func next(timeout: Duration = .seconds(20)) throws -> (PgOutputMessage, LSN)? {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                guard let bytes = try connection.readReplication(timeout: deadline - ContinuousClock.now) else { return nil }
                if case .xLogData(let start, _, _, let data) = try ReplicationMessage.decode(bytes) {
                    return (try decoder.decode(data), start)
                }
            }
            return nil
        }

        /// The inserts of the next transaction and its end.
        mutating func transaction() throws -> (inserts: [[PgOutputValue]], end: LSN) {
            var inserts: [[PgOutputValue]] = []
            while let (message, _) = try next() {
                if case .insert(_, _, let values) = message { inserts.append(values) }
                if case .commit(_, _, let end, _) = message { return (inserts, end) }
            }
            throw HTTPTestError("no commit within 20 s")
        }
    }

    static func key(_ values: [PgOutputValue], at index: Int) -> String? {
        if case .text(let bytes) = values[index] { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }

    @Test func changesStreamAndAConfirmedPositionIsWhereTheNextStreamStarts() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let sql = try database.connect()
        try sql.executeScript("SET synchronous_commit = on")
        let slot = try OutboxSlot(sql)
        defer { slot.drop() }
        func emit(_ key: String) throws {
            try sql.query("SELECT outbox_emit(topic => 't', key => $1, event_type => 'e', payload => '{}')", [key])
        }
        let keyColumn = try #require(try sql.query("SELECT attnum FROM pg_attribute WHERE attrelid = 'outbox'::regclass AND attname = 'aggregate_id'")
            .first?.require(Int.self, at: 0)) - 1

        var first = Stream(connection: try PQConnection(conninfo: database.url, replication: true))
        try first.connection.startLogicalReplication(slot: slot.name, from: LSN(rawValue: 0), options: slot.options)
        try emit("a")
        try sql.transaction {
            try emit("b")
            try emit("c")
        }
        let one = try first.transaction()
        #expect(one.inserts.map { Self.key($0, at: keyColumn) } == ["a"])
        let two = try first.transaction()
        #expect(two.inserts.map { Self.key($0, at: keyColumn) } == ["b", "c"])

        // Confirm the first transaction only: the second is streamed again, the first not.
        try first.connection.sendReplication(ReplicationMessage.statusUpdate(written: one.end, flushed: one.end, applied: one.end, clientTime: 0))
        let deadline = ContinuousClock.now + .seconds(20)
        func confirmed() throws -> String? {
            try sql.query("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", [slot.name]).first?.decode(String.self, at: 0)
        }
        while try confirmed() != one.end.description {
            guard ContinuousClock.now < deadline else { throw HTTPTestError("confirmed_flush_lsn \(try confirmed() ?? "-"), sent \(one.end)") }
            Thread.sleep(forTimeInterval: 0.02)
        }
        first.connection.close()

        var second = Stream(connection: try PQConnection(conninfo: database.url, replication: true))
        defer { second.connection.close() }
        // The slot is released when its walsender notices the closed connection.
        let released = ContinuousClock.now + .seconds(20)
        while true {
            do {
                try second.connection.startLogicalReplication(slot: slot.name, from: LSN(rawValue: 0), options: slot.options)
                break
            } catch let error as PostgresError where error.code == "55006" && ContinuousClock.now < released {
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
        let again = try second.transaction()
        #expect(again.inserts.map { Self.key($0, at: keyColumn) } == ["b", "c"])
        #expect(again.end == two.end)
    }

    /// With wal_sender_timeout 2 s the server asks for a status update within about 1 s of
    /// silence; an answer keeps the stream open past the timeout.
    @Test func keepalivesAskForAnAnswerAndAnAnsweredStreamStaysOpen() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let sql = try database.connect()
        let slot = try OutboxSlot(sql)
        defer { slot.drop() }
        let conninfo = database.url + (database.url.contains("?") ? "&" : "?") + "options=-c%20wal_sender_timeout%3D2s"
        let connection = try PQConnection(conninfo: conninfo, replication: true)
        defer { connection.close() }
        try connection.startLogicalReplication(slot: slot.name, from: LSN(rawValue: 0), options: slot.options)
        var requests = 0
        let until = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < until {
            guard let bytes = try connection.readReplication(timeout: until - ContinuousClock.now) else { continue }
            if case .keepalive(let end, _, true) = try ReplicationMessage.decode(bytes) {
                requests += 1
                try connection.sendReplication(ReplicationMessage.statusUpdate(written: end, flushed: end, applied: end, clientTime: 0))
            }
        }
        // Two and a half timeouts: without the answers the server would have ended the stream.
        #expect(requests >= 2)
        #expect(!connection.isBroken)
    }
}
