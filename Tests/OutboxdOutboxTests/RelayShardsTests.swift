import Foundation
import OutboxdCore
import OutboxdKafka
import OutboxdPostgres
import OutboxdTestSupport
import Testing
@testable import OutboxdOutbox

/// Relays agree on `RELAY_SHARDS` (issue #14): with different counts they locked different keys
/// for the same rows (shard % 2 vs shard % 4) and both published one key's events (G3).
@Suite struct RelayShardsTests {
    /// A second relay of `fixture`'s database and cluster with another configuration.
    func relay(beside fixture: RelayFixture, shards: Int) throws -> (Relay, RDKafkaProducer) {
        var configuration = RelayConfiguration()
        configuration.pollInterval = .milliseconds(50)
        configuration.takeoverInterval = .milliseconds(50)
        configuration.shards = shards
        let producer = try RDKafkaProducer(configuration: KafkaClientConfiguration(bootstrapServers: fixture.kafka.bootstrapServers),
                                           messageTimeout: configuration.deliveryTimeout)
        return (Relay(configuration: configuration, database: PostgresPoolConfiguration(conninfo: fixture.database.url), producer: producer), producer)
    }

    /// Shard locks (obrx, 0…255) granted in this database.
    func shardLocks(_ database: TestDatabase) throws -> Int {
        try database.count("pg_locks", where: """
            locktype = 'advisory' AND classid = 1868723832 AND objid < 256 AND objsubid = 2 AND granted
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """)
    }

    @Test func aRelayWithAnotherShardCountPublishesNothingBesideTheRunningOne() throws {
        let fixture = try RelayFixture { $0.shards = 2; $0.takeoverInterval = .milliseconds(50) }
        fixture.relay.run()
        try waitUntil("the first relay owns both shards") { fixture.relay.status.ownedShards == [0, 1] }
        #expect(try fixture.database.scalar("SELECT shards FROM outbox_relay_shards") == 2)

        let (other, producer) = try relay(beside: fixture, shards: 4)
        defer { producer.close(flushTimeout: .seconds(1)) }
        // At start-up: a configuration error naming the key, the count in use and the way out.
        let error = try #require(throws: RelayShardsError.self) { try other.checkShards() }
        #expect(error.code == .mismatch && error.configured == 4 && error.inUse == 2)
        #expect(error.description.contains("RELAY_SHARDS=4"))
        #expect(error.description.contains("use 2 shard"))
        #expect(error.description.contains("stop every relay"))

        // Running anyway (as after a reconnect), it owns no shard and says why.
        other.run()
        defer { other.stop() }
        try waitUntil("the other relay reports the mismatch") { other.status.lastError?.contains("RELAY_SHARDS=4") == true }
        try fixture.createTasks(40)
        try fixture.waitUntilNothingPending()
        // The status counts a batch after its recording commits, just after the rows leave `pending`.
        try waitUntil("the first relay counts all 40") { fixture.relay.status.published == 40 }
        #expect(other.status.ownedShards.isEmpty)
        #expect(other.status.published == 0)
        #expect(try shardLocks(fixture.database) == 2, "only the first relay's two shard locks")
        #expect(try fixture.database.scalar("SELECT shards FROM outbox_relay_shards") == 2)
    }

    /// The way to change the count: once no relay runs, a relay with a new count records it and
    /// owns every shard; one with the old count is then the odd one out.
    @Test func aNewCountIsRecordedWhenNoRelayRuns() throws {
        let fixture = try RelayFixture { $0.shards = 2; $0.takeoverInterval = .milliseconds(50) }
        fixture.relay.run()
        try waitUntil("the first relay owns both shards") { fixture.relay.status.ownedShards == [0, 1] }
        fixture.relay.stop()

        let (resharded, producer) = try relay(beside: fixture, shards: 4)
        defer { producer.close(flushTimeout: .seconds(1)) }
        try resharded.checkShards()
        resharded.run()
        defer { resharded.stop() }
        try waitUntil("the new relay owns four shards") { resharded.status.ownedShards == [0, 1, 2, 3] }
        #expect(try fixture.database.scalar("SELECT shards FROM outbox_relay_shards") == 4)
        try fixture.createTasks(20)
        try fixture.waitUntilNothingPending()
        try waitUntil("the new relay counts all 20") { resharded.status.published == 20 }

        let (old, oldProducer) = try relay(beside: fixture, shards: 2)
        defer { oldProducer.close(flushTimeout: .seconds(1)) }
        let error = try #require(throws: RelayShardsError.self) { try old.checkShards() }
        #expect(error.inUse == 4 && error.configured == 2)
    }

    /// A row deleted by hand while relays run: a newcomer cannot tell their count and refuses;
    /// the running relay keeps publishing.
    @Test func relaysRunningWithoutARecordedCountAreNotJoined() throws {
        let fixture = try RelayFixture { $0.shards = 1 }
        fixture.relay.run()
        try waitUntil("the relay owns its shard") { fixture.relay.status.ownedShards == [0] }
        try fixture.database.connect().executeScript("DELETE FROM outbox_relay_shards")
        let (other, producer) = try relay(beside: fixture, shards: 1)
        defer { producer.close(flushTimeout: .seconds(1)) }
        let error = try #require(throws: RelayShardsError.self) { try other.checkShards() }
        #expect(error.code == .unknownInUse)
        #expect(error.description.contains("no shard count is recorded"))
        try fixture.createTasks(5)
        try fixture.waitUntilNothingPending()
    }
}
