import Foundation
import OutboxdCore
import OutboxdKafka
import OutboxdPostgres
import OutboxdTestSupport
import Synchronization
import Testing
@testable import OutboxdOutbox

/// Issue #27: `RELAY_SOURCE=wal` against the real test cluster (`wal_level=logical`) and the mock
/// cluster. The relay polls once an hour here, so a row is published within the test only when
/// something wakes the relay: another session's `outbox_emit` is heard through the slot.
@Suite struct WalSourceTests {
    static func slotName() -> String { "outboxd_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16) }

    /// A relay polling hourly on a database of its own, a slot name of its own, and a session of
    /// "another service" writing with synchronous commit (the slot reads flushed WAL). Its WAL
    /// sources are stopped and its slot dropped when it goes.
    final class Rig {
        let slot = WalSourceTests.slotName()
        let fixture: RelayFixture
        let writer: PQConnection
        private var sources: [WalSource] = []

        init(producerProperties: [(name: String, value: String, key: String)] = [], pollInterval: Duration = .seconds(3600)) throws {
            let slot = slot
            fixture = try RelayFixture(producerProperties: producerProperties) {
                $0.pollInterval = pollInterval
                $0.source = .wal
                $0.walSlot = slot
                $0.takeoverInterval = .milliseconds(200)
            }
            writer = try fixture.database.connect()
            try writer.executeScript("SET synchronous_commit = on")
            fixture.relay.run()
        }

        /// A started WAL source that wakes the relay.
        func source() -> WalSource {
            let source = WalSource(beside: fixture.relay, database: PostgresPoolConfiguration(conninfo: fixture.database.url))
            source.run()
            sources.append(source)
            return source
        }

        /// A started source, once it streams.
        func streaming() throws -> WalSource {
            let source = source()
            try waitUntil("streaming") { source.status.phase == .streaming }
            return source
        }

        /// Emits one event from the writer session and returns its event id.
        func emit(key: String) throws -> UUID {
            try #require(try writer.query("SELECT outbox_emit('task-events', $1, 'order.placed', '{\"n\": 1}') AS event_id",
                                          [key]).first?.require(UUID.self, "event_id"))
        }

        /// Emits one table-less event (`outbox_emit_message`) with `outbox_emit`'s arguments.
        func emitMessage(key: String, payload: String = "{\"n\": 1}", headers: String = "{}", eventID: UUID = UUID()) throws -> UUID {
            try #require(try writer.query("SELECT outbox_emit_message('task-events', $1, 'order.placed', $2::jsonb, $3::jsonb, event_id => $4) AS event_id",
                                          [key, payload, headers, eventID]).first?.require(UUID.self, "event_id"))
        }

        /// The writer's current WAL insert position (PostgreSQL's text form).
        func walPosition() throws -> String {
            try #require(try writer.query("SELECT pg_current_wal_insert_lsn()::text AS lsn").first?.require(String.self, "lsn"))
        }

        func published(_ eventID: UUID) throws -> Bool {
            try fixture.database.count("outbox", where: "event_id = $1 AND published_at IS NOT NULL", [eventID]) == 1
        }

        /// True once the slot's confirmed position is at or past `lsn` (PostgreSQL's text form).
        func confirmed(past lsn: String) throws -> Bool {
            try writer.query("SELECT confirmed_flush_lsn >= $1::pg_lsn AS past FROM pg_replication_slots WHERE slot_name = $2",
                             [lsn, slot]).first?.require(Bool.self, "past") == true
        }

        /// Ends the slot's stream and drops it (as an operator would, or a failover loses it); true once gone.
        func dropSlot(on connection: PQConnection) throws -> Bool {
            try connection.query("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active", [slot])
            if (try? connection.query("SELECT pg_drop_replication_slot($1)", [slot])) != nil { return true }
            return try connection.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", [slot]).first == nil
        }

        deinit {
            for source in sources { source.stop(deadline: .now + .seconds(5)) }
            writer.close()
            // The database's drop (RelayFixture) drops what is left of its slots.
        }
    }

    /// Each row another session emits is published within seconds although the relay polls hourly.
    @Test func anotherWritersEventIsPublishedWithoutWaitingForThePoll() throws {
        let rig = try Rig()
        let source = try rig.streaming()
        var last = ""
        for n in 0..<6 {
            last = try #require(try rig.writer.query("SELECT pg_current_wal_insert_lsn()::text AS lsn").first?.require(String.self, "lsn"))
            let eventID = try rig.emit(key: "order-\(n)")
            try waitUntil("order-\(n) is published through the slot's wake-up", timeout: .seconds(10)) { try rig.published(eventID) }
        }
        let records = try rig.fixture.consume(6)
        #expect(Set(records.compactMap { $0.header("ce_id") }).count == 6)
        #expect(source.status.transactions >= 5)
        // The slot's position follows the stream: it is confirmed past the last transaction.
        try waitUntil("the slot is confirmed past the last emit") { try rig.confirmed(past: last) }
    }

    /// The slot is dropped under the stream (an operator, or a failover to a standby without it):
    /// the source recreates it, and the rows committed meanwhile are published from the table.
    @Test func aDroppedSlotIsRecreatedAndItsGapPublished() throws {
        let rig = try Rig()
        let source = try rig.streaming()
        // Kill the stream and drop its slot, then write while no slot exists.
        let admin = try rig.fixture.database.connect()
        defer { admin.close() }
        try waitUntil("the slot is dropped") { try rig.dropSlot(on: admin) }
        let gap = try (0..<3).map { try rig.emit(key: "gap-\($0)") }
        try waitUntil("the slot is recreated") { source.status.slotsRecreated == 1 }
        try waitUntil("the gap is published from the table", timeout: .seconds(20)) { try gap.allSatisfy { try rig.published($0) } }
        let after = try rig.emit(key: "after")
        try waitUntil("the new stream wakes the relay", timeout: .seconds(10)) { try rig.published(after) }
        #expect(try rig.fixture.database.count("outbox", where: "published_at IS NULL") == 0)
    }

    /// The slot is dropped while no relay runs (as `max_slot_wal_keep_size` does to the slot of
    /// stopped relays): the next source to start knows it from the registry, counts and logs it.
    @Test func aSlotLostWhileNoRelayRanIsCountedAsRecreated() throws {
        let rig = try Rig()
        let first = try rig.streaming()
        #expect(first.status.slotsRecreated == 0, "a first creation")
        first.stop(deadline: .now + .seconds(5))
        let admin = try rig.fixture.database.connect()
        defer { admin.close() }
        try waitUntil("the slot is dropped") { try rig.dropSlot(on: admin) }
        let next = try rig.streaming()
        #expect(next.status.slotsRecreated == 1)
    }

    /// Creating the slot waits for the transactions running then: here one held for 12 s, past
    /// the session's 10 s `statement_timeout`. The source waits it out (it failed on every try
    /// while a busy cluster kept one running: seen in a clean-clone CI run) and streams once it ends.
    @Test func theSlotIsCreatedPastALongTransaction() throws {
        let rig = try Rig()
        let holder = try rig.fixture.database.connect()
        defer { holder.close() }
        try holder.executeScript("BEGIN; SELECT pg_current_xact_id()")
        let source = rig.source()
        // Watch the source for the whole hold: it must never fail.
        var phases: Set<WalSourceStatus.Phase> = []
        let holdEnds = ContinuousClock.now + .seconds(12)
        while ContinuousClock.now < holdEnds {
            phases.insert(source.status.phase)
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(phases == [.starting], "waiting for the slot: \(phases)")
        try holder.executeScript("COMMIT")
        try waitUntil("streaming once the transaction ended") { source.status.phase == .streaming }
    }

    /// One stream per slot: a second source stands by, and takes over when the first stops.
    @Test func aSecondSourceStandsByAndTakesOver() throws {
        let rig = try Rig()
        let first = try rig.streaming()
        let second = rig.source()
        try waitUntil("the second stands by") { second.status.phase == .standby }
        first.stop(deadline: .now + .seconds(5))
        try waitUntil("the second takes over", timeout: .seconds(10)) { second.status.phase == .streaming }
        let eventID = try rig.emit(key: "taken-over")
        try waitUntil("published through the second's stream", timeout: .seconds(10)) { try rig.published(eventID) }
    }

    /// The start-up check names what is missing: here a role without REPLICATION (the test
    /// cluster has wal_level=logical); the same session as its superuser passes.
    @Test func aRoleWithoutReplicationIsNamed() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        defer { connection.close() }
        #expect(try WalSlot.check(on: connection).problem == nil)
        let role = "norep_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        try connection.executeScript("CREATE ROLE \(role) NOLOGIN; SET ROLE \(role)")
        defer { _ = try? connection.executeScript("RESET ROLE; DROP ROLE \(role)") }
        let problem = try #require(try WalSlot.check(on: connection).problem)
        #expect(problem.contains("the role \(role) lacks REPLICATION"), "\(problem)")
        #expect(problem.contains("RELAY_SOURCE=poll"))
    }

    /// An idle slot holds no WAL back: while another database of the cluster writes (the slot
    /// decodes and skips its transactions), the source confirms the server's position on the
    /// walsender's keepalives (every half `wal_sender_timeout`, which the replication connection
    /// sets to its keepalive bound, 11 s).
    @Test func anIdleSlotFollowsOtherDatabasesWrites() throws {
        let rig = try Rig()
        _ = try rig.streaming()
        let neighbour = try TestDatabase.create()
        defer { neighbour.drop() }
        let writer = try neighbour.connect()
        defer { writer.close() }
        try writer.executeScript("""
            SET synchronous_commit = on;
            CREATE TABLE noise (n int, pad text);
            INSERT INTO noise SELECT n, repeat('x', 200) FROM generate_series(1, 20000) n;
            """)
        let written = try #require(try writer.query("SELECT pg_current_wal_lsn()::text AS lsn").first?.require(String.self, "lsn"))
        try waitUntil("the slot is confirmed past the other database's writes", timeout: .seconds(30)) { try rig.confirmed(past: written) }
        #expect(try rig.fixture.database.count("outbox") == 0, "nothing of this database was written: the confirmations came from keepalives")
    }

    /// `outbox_emit_message` writes no row: its event is read from the slot and published as the
    /// record `outbox_emit` would have made of the same arguments (only `ce_id` and `ce_time`
    /// differ), and the slot is confirmed past it once it is delivered. Without a WAL relay's slot
    /// on the database, the function refuses (no relay would ever read the event).
    @Test func anEmittedMessageIsPublishedAsItsRowWouldHaveBeen() throws {
        let rig = try Rig()
        #expect {
            try rig.writer.query("SELECT outbox_emit_message('task-events', 'k', 'order.placed', '{}')")
        } throws: { error in
            (error as? PostgresError)?.code == .objectNotInPrerequisiteState && (error as? PostgresError)?.message.contains("no relay in wal mode") == true
        }
        let source = try rig.streaming()
        let payload = "{\"n\": 1.50, \"note\": \"caf\u{e9} \\\"q\\\" \u{1F600}\"}"
        let headers = "{\"tenant\": \"acme\", \"traceparent\": \"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\"}"
        let before = try rig.walPosition()
        let messageID = try rig.emitMessage(key: "order-7", payload: payload, headers: headers)
        let rowID = try #require(try rig.writer.query("""
            SELECT outbox_emit('task-events', 'order-7', 'order.placed', $1::jsonb, $2::jsonb) AS event_id
            """, [payload, headers]).first?.require(UUID.self, "event_id"))
        let records = try rig.fixture.consume(2)
        let message = try #require(records.first { $0.header("ce_id") == messageID.lowercaseString })
        let row = try #require(records.first { $0.header("ce_id") == rowID.lowercaseString })
        #expect(message.key == row.key && message.key == Array("order-7".utf8))
        #expect(message.value == row.value && !message.value.isEmpty)
        #expect(message.partition == row.partition)
        let comparable = { (record: KafkaRecord) in record.headers.filter { !["ce_id", "ce_time"].contains($0.name) }.map { "\($0.name)=\(String(decoding: $0.value, as: UTF8.self))" } }
        #expect(comparable(message) == comparable(row))
        #expect(comparable(message).contains("tenant=acme"))
        #expect(try rig.fixture.database.count("outbox", where: "event_id = $1", [messageID]) == 0, "no row for the message")
        try waitUntil("the slot is confirmed past the message") { try rig.confirmed(past: before) }
        #expect(source.status.messages == 1 && source.status.messagesStored == 0)
        try waitUntil("the message and the row are counted") { rig.fixture.relay.metrics.published.value(["task-events"]) == 2 }
    }

    /// An event the broker refuses for good (too large) becomes a parked outbox row with its
    /// error; content with the event prefix that is not an event, or an event the outbox refuses
    /// as a row, becomes a parked row with the content and what is wrong; none stops the stream
    /// or the events after them.
    @Test func anUndeliverableMessageIsParkedAsARow() throws {
        let rig = try Rig(producerProperties: [("message.max.bytes", "4000", "KAFKA_MESSAGE_MAX_BYTES")])
        let source = try rig.streaming()
        let large = try rig.emitMessage(key: "big", payload: "{\"text\": \"\(String(repeating: "x", count: 6000))\"}")
        // Written by hand with the event prefix: not an event; an event no row may hold (a topic
        // name Kafka refuses, which the outbox's checks refuse too); a time past any timestamp.
        try rig.writer.query("SELECT pg_logical_emit_message(true, 'outboxd.event.v1', '[\"not\", \"an event\"]')")
        let badTopic = UUID()
        try rig.writer.query("""
            SELECT pg_logical_emit_message(true, 'outboxd.event.v1', $1)
            """, ["[\"\(badTopic.lowercaseString)\", \"bad topic\", \"\", \"k\", \"e\", \"{}\", null, null, null, null, \"{}\", 1796563048]"])
        try rig.writer.query("""
            SELECT pg_logical_emit_message(true, 'outboxd.event.v1', $1)
            """, ["[\"\(UUID().lowercaseString)\", \"t\", \"\", \"k\", \"e\", \"{}\", null, null, null, null, \"{}\", 99999999999999]"])
        let after = try rig.emitMessage(key: "small")
        let records = try rig.fixture.consume(1)
        #expect(records.map { $0.header("ce_id") } == [after.lowercaseString])
        try waitUntil("four are rows") { try rig.fixture.database.count("outbox") == 4 }
        let parked = Array(try rig.writer.query("""
            SELECT event_id, aggregate_type, last_error, attempts, parked_at IS NOT NULL AS parked, payload::text AS payload,
                   convert_from(payload_bytes, 'UTF8') AS content
            FROM outbox ORDER BY id
            """))
        #expect(try parked[0].require(UUID.self, "event_id") == large)
        #expect(try parked[0].require(String.self, "last_error").contains("MSG_SIZE_TOO_LARGE"))
        #expect(try parked[0].require(Bool.self, "parked") && parked[0].require(Int.self, "attempts") == 1)
        #expect(try parked[0].require(String.self, "payload").count > 6000, "the event is kept whole")
        for row in parked.dropFirst() {
            #expect(try row.require(String.self, "aggregate_type") == "outboxd.unreadable-message")
            #expect(try row.require(Bool.self, "parked"))
        }
        #expect(try parked[1].require(String.self, "last_error").contains("not the array of 12 columns"))
        #expect(try parked[2].require(String.self, "last_error").contains("could not store this emitted event as an outbox row"))
        #expect(try parked[2].require(String.self, "content").contains(badTopic.lowercaseString), "the message's content is kept")
        #expect(try parked[3].require(String.self, "last_error").contains("created_at is not a number of seconds"))
        #expect(source.status.messages == 5)
        // The count follows the rows' commit.
        try waitUntil("the rows are counted") { source.status.messagesStored == 4 }
        #expect(source.status.phase == .streaming, "nothing stopped the stream")
        // Retried by an operator (outbox_retry), the large row is claimed like any other and fails again.
        #expect(try rig.fixture.database.count("outbox_queue", where: "parked_at IS NOT NULL") == 4)
    }

    /// Emitted events are planned by the sink's rules for a claimed batch: a key's event for
    /// another destination than its earlier one in the batch (here another partition) is held,
    /// and so are the key's later events: they become plain outbox rows (no attempt, no error),
    /// which the relay publishes after the first, in order (the third is held by the relay's own
    /// plan too, behind the second's other partition, until its next claim: the poll, 1 s here).
    /// What the stream delivers counts in `outbox_backlog` like what the relay does.
    @Test func aKeysEventsForAnotherDestinationAreHeldAsRowsAndPublishedInOrder() throws {
        let rig = try Rig(pollInterval: .seconds(1))
        _ = try rig.streaming()
        let ids = (0..<3).map { _ in UUID() }
        try rig.writer.transaction {
            for (index, id) in ids.enumerated() {
                try rig.writer.query("""
                    SELECT outbox_emit_message('task-events', 'order-9', 'order.placed', $1::jsonb, message_partition => $2, event_id => $3)
                    """, ["{\"n\": \(index)}", index == 1 ? 3 : nil, id])
            }
        }
        let records = try rig.fixture.consume(3)
        let order = records.map { $0.header("ce_id") }
        #expect(Set(order) == Set(ids.map(\.lowercaseString)))
        let second = try #require(records.first { $0.header("ce_id") == ids[1].lowercaseString })
        #expect(second.partition == 3)
        let samePartition = order.filter { $0 != ids[1].lowercaseString }
        #expect(samePartition == [ids[0].lowercaseString, ids[2].lowercaseString], "the key's order in its partition")
        let rows = Array(try rig.writer.query("""
            SELECT event_id, attempts, last_error FROM outbox ORDER BY id
            """))
        #expect(try rows.map { try $0.require(UUID.self, "event_id") } == Array(ids.dropFirst()), "the held events are rows; the first is not")
        for row in rows {
            #expect(try row.require(Int.self, "attempts") == 0 && row.decode(String.self, "last_error") == nil, "held, not failed")
        }
        try waitUntil("the held rows are published") { try rig.fixture.database.count("outbox", where: "published_at IS NOT NULL") == 2 }
        try waitUntil("the stream's delivery is counted in outbox_backlog") {
            try rig.writer.query("SELECT published_last_hour FROM outbox_backlog WHERE topic = 'task-events'").first?
                .decode(Int.self, "published_last_hour") ?? 0 >= 1
        }
    }

    /// While the relay drains a backlog (its claims come back full) the stream is not read, so
    /// PostgreSQL decodes little of it meanwhile, however long the drain: here the server's
    /// socket is full (40 MB of another tool's messages) and the pause lasts twice the keepalive
    /// bound (2 s), and the stream is still the same walsender's, answering with its status; it
    /// is read on once the relay's claims come back short. (The pause is an absence: it is
    /// watched for 4 s. Whether the relay publishes a row meanwhile is not the stream's.)
    @Test func theStreamWaitsWhileTheRelayDrainsABacklog() throws {
        let rig = try Rig()
        let backlogged = Mutex(false)
        var database = PostgresPoolConfiguration(conninfo: rig.fixture.database.url)
        database.keepalive = PostgresKeepalive(idle: .seconds(1), interval: .milliseconds(500), count: 2)
        let source = WalSource(configuration: rig.fixture.relay.configuration, database: database,
                               sink: rig.fixture.relay.sink, wake: { [wakeup = rig.fixture.relay.wakeup] in wakeup.wake() },
                               backlogged: { backlogged.withLock { $0 } })
        source.run()
        defer { source.stop(deadline: .now + .seconds(5)) }
        try waitUntil("streaming") { source.status.phase == .streaming }
        let first = try rig.emit(key: "before")
        try waitUntil("the stream reads the first") { source.status.transactions == 1 }
        let walsender = { try rig.writer.query("SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1", [rig.slot]).first?.decode(Int.self, "active_pid") }
        let streaming = try #require(try walsender())
        backlogged.withLock { $0 = true }
        try rig.writer.query("SELECT count(pg_logical_emit_message(false, 'another.tool', repeat('x', 1048576))) FROM generate_series(1, 40)")
        let id = try rig.emit(key: "while-draining")
        Thread.sleep(forTimeInterval: 4)
        #expect(source.status.transactions == 1, "the stream was read while the relay drained")
        #expect(try walsender() == streaming, "the paused stream was ended")
        #expect(source.status.phase == .streaming && source.status.lastError == nil)
        backlogged.withLock { $0 = false }
        try waitUntil("the stream reads on once the drain is over") { source.status.transactions == 2 }
        try waitUntil("published") { try rig.published(id) && rig.published(first) }
        #expect(try walsender() == streaming)
    }

    /// The relay is backlogged while its claims come back full (brokers 300 ms away, batches of
    /// 5 of 60 rows), and no longer once a claim comes back short.
    @Test func fullClaimsMarkTheRelayBacklogged() throws {
        let fixture = try RelayFixture { $0.batchSize = 5 }
        for broker in 1...fixture.kafka.brokerCount { fixture.kafka.setRoundTrip(.milliseconds(300), broker: Int32(broker)) }
        try fixture.createTasks(60)
        fixture.relay.run()
        try waitUntil("backlogged while draining") { fixture.relay.isBacklogged }
        #expect(try fixture.pending() > 0)
        try waitUntil("the backlog is drained") { try fixture.pending() == 0 }
        try waitUntil("no longer backlogged") { !fixture.relay.isBacklogged }
    }

    /// A relay in wal mode is refused while one in poll mode runs on the database (its lanes'
    /// sessions), and starts once that one is gone.
    @Test func aRelayOfTheOtherModeIsRefusedWhileOneRuns() throws {
        let fixture = try RelayFixture()
        fixture.relay.run()
        try waitUntil("the poll relay owns its shard") { fixture.relay.status.ownedShards == [0] }
        var configuration = fixture.relay.configuration
        configuration.source = .wal
        let wal = Relay(configuration: configuration, database: PostgresPoolConfiguration(conninfo: fixture.database.url), producer: fixture.producer)
        let error = try #require(throws: RelaySourceError.self) { try wal.checkSource() }
        #expect(error.sessions == 2, "the poll relay's two lanes")
        #expect(error.description.contains("RELAY_SOURCE=wal, but a relay with RELAY_SOURCE=poll runs on this database"))
        fixture.relay.stop(drainTimeout: .seconds(5))
        try waitUntil("the poll relay's sessions are gone") { (try? wal.checkSource()) != nil }
    }
}
