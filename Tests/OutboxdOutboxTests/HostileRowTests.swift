import Foundation
import OutboxdCore
import OutboxdKafka
import OutboxdPostgres
import OutboxdTestSupport
import Testing
@testable import OutboxdOutbox

/// Rows another service writes (issue #28): none of them stops the relay, each is handled alone,
/// and per-key order holds with no duplicate where nothing failed.
@Suite struct HostileRowTests {
    /// Partition 2 of the fixture's topic has no leader while `leaderless`: messages for it time
    /// out, an error that is retried. Partition 99999 does not exist: a permanent error.
    static let leaderless: Int32 = 2
    static let missing: Int32 = 99_999

    func emit(_ connection: PQConnection, key: String, n: Int, partition: Int32? = nil, payloadBytes: Int = 0) throws -> UUID {
        let payload = #"{"n": \#(n), "pad": "\#(String(repeating: "x", count: payloadBytes))"}"#
        return try #require(try connection.query("""
            SELECT outbox_emit(topic => 'task-events', key => $1, event_type => 'test.event', payload => $2::jsonb,
                               message_partition => $3) AS id
            """, [key, payload, partition]).first?.require(UUID.self, "id"))
    }

    func state(_ fixture: RelayFixture, _ id: UUID) throws -> (attempts: Int, parked: Bool, published: Bool, error: String?) {
        let row = try #require(try fixture.database.connect().query(
            "SELECT attempts, parked_at IS NOT NULL AS parked, published_at IS NOT NULL AS published, last_error FROM outbox WHERE event_id = $1",
            [id]).first)
        return (try row.require(Int.self, "attempts"), try row.require(Bool.self, "parked"), try row.require(Bool.self, "published"),
                try row.decode(String.self, "last_error"))
    }

    /// How many records of each event the topic holds: the `delivered` expected, then whatever
    /// more arrives within 3 s (a copy, or an event that should not be there).
    func copies(_ fixture: RelayFixture, delivered: Int) throws -> [String: Int] {
        let consumer = try RDKafkaConsumer(configuration: KafkaClientConfiguration(bootstrapServers: fixture.kafka.bootstrapServers),
                                           groupID: "test-\(UUID())", topics: [fixture.topic])
        var counts: [String: Int] = [:]
        let records = try consumer.read(count: delivered, timeout: .seconds(60)) + consumer.read(count: 1, timeout: .seconds(3))
        for record in records { counts[record.header("ce_id") ?? "", default: 0] += 1 }
        return counts
    }

    func fixture() throws -> RelayFixture {
        try RelayFixture { $0.deliveryTimeout = .milliseconds(800) }
    }

    /// A row the relay cannot send, then a normal row of its key in the same transaction: the
    /// first is parked, the second delivered exactly once (it used to be delivered, held, and sent
    /// again: two copies with one ce_id and no fault anywhere).
    @Test(arguments: ["partition", "size"])
    func aRowThatCannotBeSentThenANormalOneOfItsKeyGivesOneCopy(_ why: String) throws {
        let fixture = try RelayFixture(producerProperties: [("message.max.bytes", "100000", "KAFKA_MESSAGE_MAX_BYTES")])
        let connection = try fixture.database.connect()
        try connection.executeScript("BEGIN")
        let bad = why == "partition" ? try emit(connection, key: "k", n: 1, partition: Self.missing) : try emit(connection, key: "k", n: 1, payloadBytes: 200_000)
        let good = try emit(connection, key: "k", n: 2)
        try connection.executeScript("COMMIT")
        fixture.relay.run()
        fixture.relay.wakeup.wake()
        try waitUntil("both rows are done") {
            try state(fixture, bad).parked && state(fixture, good).published
        }
        #expect(try copies(fixture, delivered: 1) == [good.lowercaseString: 1])
        #expect(try state(fixture, bad).error?.contains(why == "partition" ? "PARTITION" : "MSG_SIZE_TOO_LARGE") == true)
    }

    /// A permanent failure, then a retried one, of one key: the first is parked; the second is
    /// delivered once, after its retries, never while the first could still go.
    @Test(arguments: [true, false])
    func aPermanentThenARetriedFailureOfOneKey(oneTransaction: Bool) throws {
        let fixture = try fixture()
        fixture.kafka.setLeader(topic: fixture.topic, partition: Self.leaderless, broker: nil)
        let connection = try fixture.database.connect()
        fixture.relay.run()
        if oneTransaction { try connection.executeScript("BEGIN") }
        let first = try emit(connection, key: "k", n: 1, partition: Self.missing)
        if !oneTransaction {
            fixture.relay.wakeup.wake()
            try waitUntil("the first row is parked") { try state(fixture, first).parked }
        }
        let second = try emit(connection, key: "k", n: 2, partition: Self.leaderless)
        if oneTransaction { try connection.executeScript("COMMIT") }
        fixture.relay.wakeup.wake()
        try waitUntil("the second row failed an attempt") { try state(fixture, second).attempts > 0 }
        #expect(try state(fixture, first).parked)
        #expect(try !state(fixture, second).published)
        fixture.kafka.setLeader(topic: fixture.topic, partition: Self.leaderless, broker: 1)
        try waitUntil("the second row is delivered", timeout: .seconds(60)) { try state(fixture, second).published }
        #expect(try copies(fixture, delivered: 1) == [second.lowercaseString: 1])
    }

    /// A retried failure, then a permanent one, of one key: the second row is not produced (so not
    /// parked either) while the first backs off; once the first is delivered, the second is tried
    /// and parked.
    @Test(arguments: [true, false])
    func aRetriedThenAPermanentFailureOfOneKey(oneTransaction: Bool) throws {
        let fixture = try fixture()
        fixture.kafka.setLeader(topic: fixture.topic, partition: Self.leaderless, broker: nil)
        let connection = try fixture.database.connect()
        fixture.relay.run()
        if oneTransaction { try connection.executeScript("BEGIN") }
        let first = try emit(connection, key: "k", n: 1, partition: Self.leaderless)
        if !oneTransaction {
            fixture.relay.wakeup.wake()
            try waitUntil("the first row failed an attempt") { try state(fixture, first).attempts > 0 }
        }
        let second = try emit(connection, key: "k", n: 2, partition: Self.missing)
        if oneTransaction { try connection.executeScript("COMMIT") }
        fixture.relay.wakeup.wake()
        try waitUntil("the first row failed twice") { try state(fixture, first).attempts > 1 }
        let waiting = try state(fixture, second)
        #expect(waiting.attempts == 0 && !waiting.parked, "the second row was tried while the first could still go")
        fixture.kafka.setLeader(topic: fixture.topic, partition: Self.leaderless, broker: 1)
        try waitUntil("the second row is parked", timeout: .seconds(60)) { try state(fixture, second).parked }
        #expect(try state(fixture, first).published)
        let times = try #require(try fixture.database.connect().query(
            "SELECT (SELECT published_at FROM outbox WHERE event_id = $1) <= (SELECT parked_at FROM outbox WHERE event_id = $2) AS ordered",
            [first, second]).first)
        #expect(try times.require(Bool.self, "ordered"))
        #expect(try copies(fixture, delivered: 1) == [first.lowercaseString: 1])
    }

    /// A row with a time no timestamp can hold (written with the checks off, as an owner can) is
    /// parked with a reason naming the column; every later event, of its key too, is published,
    /// and the operators' views still answer.
    @Test func anUnreadableRowIsParkedAloneAndTheViewsStillAnswer() throws {
        let fixture = try fixture()
        let connection = try fixture.database.connect()
        try connection.executeScript("SET session_replication_role = replica")
        try connection.executeScript("""
            INSERT INTO outbox (topic, aggregate_id, event_type, payload, created_at) VALUES ('task-events', 'k', 'x', '{}', 'infinity')
            """)
        try connection.executeScript("SET session_replication_role = origin")
        let later = try emit(connection, key: "k", n: 2)
        let other = try emit(connection, key: "other", n: 3)
        // While it is pending, /metrics' backlog and the CLI's views answer (they failed with 22008).
        let backlog = try OutboxInspection.backlogByTopic(on: connection)
        #expect(backlog.map(\.pending) == [3])
        #expect(try OutboxInspection.status(on: connection).count == 1)
        #expect(try OutboxInspection.pending(limit: 10, on: connection).count == 3)
        fixture.relay.run()
        fixture.relay.wakeup.wake()
        try waitUntil("the later rows are published") { try state(fixture, later).published && state(fixture, other).published }
        let parked = try #require(try connection.query("SELECT last_error FROM outbox WHERE parked_at IS NOT NULL").first)
        let reason = try parked.require(String.self, "last_error")
        #expect(reason.contains("created_at") && reason.contains("cannot read"), "\(reason)")
        #expect(try OutboxInspection.status(on: connection).count == 1)
        #expect(try connection.query("SELECT age FROM outbox_pending").isEmpty)
        #expect(try connection.query("SELECT delay FROM outbox_recent").count == 2)
        #expect(try OutboxInspection.parked(limit: 10, on: connection).count == 1)
    }

    /// A claim holds at most RELAY_BATCH_BYTES of payloads: a row larger than that alone is parked
    /// unread, the others go in claims that fit, and nothing stalls on the statement timeout.
    @Test func aClaimIsBoundedInBytes() throws {
        let fixture = try RelayFixture(producerProperties: [("message.max.bytes", "2000000", "KAFKA_MESSAGE_MAX_BYTES")]) {
            $0.batchBytes = 1 << 20
        }
        let connection = try fixture.database.connect()
        let huge = try (0..<3).map { try emit(connection, key: "huge-\($0)", n: $0, payloadBytes: 3 << 20) }
        let large = try (0..<6).map { try emit(connection, key: "large-\($0 % 2)", n: $0, payloadBytes: 400_000) }
        let small = try (0..<50).map { try emit(connection, key: "small-\($0)", n: $0) }
        try connection.executeScript("ALTER DATABASE \(fixture.database.name) SET statement_timeout = '2s'")
        fixture.relay.run()
        fixture.relay.wakeup.wake()
        try waitUntil("everything is done", timeout: .seconds(60)) {
            try fixture.database.count("outbox", where: "published_at IS NULL AND parked_at IS NULL") == 0
        }
        for id in huge {
            let row = try state(fixture, id)
            #expect(row.parked && row.error?.contains("RELAY_BATCH_BYTES") == true, "\(row)")
        }
        for id in large + small { #expect(try state(fixture, id).published) }
        let counts = try copies(fixture, delivered: large.count + small.count)
        #expect(counts.count == large.count + small.count && counts.values.allSatisfy { $0 == 1 })
    }
}
