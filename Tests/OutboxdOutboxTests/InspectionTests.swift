import Foundation
import OutboxdCore
import OutboxdKafka
import OutboxdPostgres
import OutboxdTasks
import OutboxdTestSupport
import Testing

/// The inspection views and repair functions of migration 0006, against real rows and a relay.
@Suite struct InspectionTests {
    /// A parked event shows in outbox_parked and outbox_backlog; outbox_retry makes it due, and the
    /// relay (woken by the function's NOTIFY) publishes it; outbox_recent then lists it.
    @Test func parkedEventIsVisibleAndRetriedWithOneCall() throws {
        let fixture = try RelayFixture(producerProperties: [("message.max.bytes", "4000", "KAFKA_MESSAGE_MAX_BYTES")]) {
            $0.maxAttempts = 1
            $0.pollInterval = .seconds(3600) // only a wake-up (the NOTIFY) can make it publish at once
        }
        fixture.relay.run()
        let poison = try fixture.createTasks(1, description: String(repeating: "x", count: 8000))[0]
        try fixture.createTasks(2)
        try waitUntil("the big event is parked") { try fixture.database.count("outbox_parked") == 1 }
        try fixture.waitUntilNothingPending()
        let connection = try fixture.database.connect()
        let backlog = try #require(try connection.query("SELECT pending::int, parked::int, published_last_minute::int AS minute, published_last_hour::int AS hour FROM outbox_backlog WHERE topic = 'task-events'").first)
        #expect(try backlog.require(Int.self, "pending") == 0)
        #expect(try backlog.require(Int.self, "parked") == 1)
        #expect(try backlog.require(Int.self, "minute") == 2)
        #expect(try backlog.require(Int.self, "hour") == 2)
        let parked = try #require(try connection.query("SELECT event_id, aggregate_id, last_error FROM outbox_parked").first)
        #expect(try parked.require(String.self, "aggregate_id") == poison.lowercaseString)
        #expect(try parked.require(String.self, "last_error").contains("MSG_SIZE_TOO_LARGE"))
        #expect(try fixture.database.count("outbox_recent") == 2)

        // Retrying still fails (the message is still too large) and parks it again after one attempt:
        // what matters here is that the relay took it up again at once.
        let eventID = try parked.require(UUID.self, "event_id")
        #expect(try connection.query("SELECT outbox_retry($1::uuid[]) AS n", [[eventID]]).first?.require(Int.self, "n") == 1)
        #expect(try connection.query("SELECT outbox_retry($1::uuid[]) AS n", [[UUID()]]).first?.require(Int.self, "n") == 0)
        try waitUntil("the relay tried it again") {
            try fixture.database.count("outbox", where: "event_id = $1 AND parked_at IS NOT NULL AND attempts = 1", [eventID]) == 1
                && fixture.relay.status.failed == 2
        }
        #expect(try connection.query("SELECT outbox_retry_parked(now() - interval '1 hour') AS n").first?.require(Int.self, "n") == 1)
        // Pending again, or already parked again by the relay: one statement, so one snapshot sees it
        // in exactly one of the two views (two counts raced with the relay).
        #expect(try connection.query("""
            SELECT (SELECT count(*) FROM outbox_pending WHERE event_id = $1) + (SELECT count(*) FROM outbox_parked) AS n
            """, [eventID]).first?.require(Int.self, "n") == 1)
    }

    /// outbox_replay re-publishes kept history under the same event ids.
    @Test func replayPublishesHistoryAgainUnderTheSameIds() throws {
        let fixture = try RelayFixture { $0.pollInterval = .seconds(3600) }
        fixture.relay.run()
        try fixture.createTasks(5)
        try fixture.waitUntilNothingPending()
        let connection = try fixture.database.connect()
        let replayed = try connection.query("SELECT outbox_replay(now() - interval '1 hour', now() + interval '1 second') AS n").first?.require(Int.self, "n")
        #expect(replayed == 5)
        try fixture.waitUntilNothingPending()
        let ids = try fixture.consume(10).compactMap { $0.header("ce_id") }
        #expect(ids.count == 10)
        #expect(Set(ids).count == 5)
        #expect(throws: PostgresError.self) {
            try connection.query("SELECT outbox_replay(now(), now() - interval '1 hour')")
        }
    }
}
