import Foundation
import OutboxdCore
import OutboxdKafka
import OutboxdPostgres
import OutboxdTasks
import OutboxdTestSupport
import Testing
@testable import OutboxdOutbox

/// An owner relay and a standby on one database (each through its own conninfo), one mock
/// cluster, and a task store that writes events of several per key.
final class TakeoverRig {
    let kafka: RDKafkaMockCluster
    let owner: Relay
    let standby: Relay
    private let producers: [RDKafkaProducer]
    let pool: PostgresPool
    let store: TaskStore
    let topic = "task-events"
    /// Tasks created so far, in order.
    private(set) var tasks: [UUID] = []

    /// WAL sources of the owner and the standby, when `configure` sets `RELAY_SOURCE=wal`.
    private(set) var sources: [WalSource] = []

    init(owner ownerURL: String, standby standbyURL: String, keepalive: PostgresKeepalive,
         configure: (inout RelayConfiguration) -> Void = { _ in }) throws {
        kafka = try RDKafkaMockCluster(brokers: 3, topics: [(topic, 4)])
        var configuration = RelayConfiguration()
        configuration.pollInterval = .milliseconds(50)
        configuration.takeoverInterval = .milliseconds(100)
        configuration.backoffBase = .milliseconds(50)
        configuration.backoffMaximum = .milliseconds(500)
        configuration.deliveryTimeout = .seconds(10)
        configure(&configuration)
        var relays: [Relay] = [], producers: [RDKafkaProducer] = []
        for url in [ownerURL, standbyURL] {
            var database = PostgresPoolConfiguration(conninfo: url)
            database.keepalive = keepalive
            database.connectTimeout = .seconds(2)
            let producer = try RDKafkaProducer(configuration: KafkaClientConfiguration(bootstrapServers: kafka.bootstrapServers),
                                               messageTimeout: configuration.deliveryTimeout)
            producers.append(producer)
            let relay = Relay(configuration: configuration, database: database, producer: producer)
            relays.append(relay)
            if configuration.source == .wal {
                sources.append(WalSource(beside: relay, database: database))
            }
        }
        owner = relays[0]
        standby = relays[1]
        self.producers = producers
        pool = PostgresPool(configuration: PostgresPoolConfiguration(conninfo: standbyURL, maxConnections: 2))
        store = TaskStore(pool: pool, topic: topic)
    }

    /// `count` new tasks, then two updates of every task so far: several events per key.
    func write(_ count: Int) throws {
        for n in 0..<count {
            guard case .created(let task, _) = try store.create(NewTask(title: "task \(tasks.count + n)"), idempotencyKey: nil) else {
                throw HTTPTestError("not created")
            }
            tasks.append(task.id)
        }
        for round in 0..<2 {
            for id in tasks { _ = try store.update(id, TaskPatch(title: "round \(round)"), ifVersion: nil) }
        }
        owner.wakeup.wake()
        standby.wakeup.wake()
    }

    func pending() throws -> Int {
        try pool.withConnection { try $0.query("SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL").first?.require(Int.self, "n") ?? -1 }
    }

    /// Every event in the outbox reached Kafka, and each key's events first arrived in commit order.
    func expectEverythingPublishedInOrder() throws {
        let rows = try pool.withConnection { try $0.query("SELECT aggregate_id, event_id FROM outbox ORDER BY id") }
        var order: [String: [String]] = [:]
        for row in rows {
            order[try row.require(String.self, "aggregate_id"), default: []].append(try row.require(UUID.self, "event_id").lowercaseString)
        }
        let eventIDs = Set(order.values.flatMap { $0 })
        let consumer = try RDKafkaConsumer(configuration: KafkaClientConfiguration(bootstrapServers: kafka.bootstrapServers),
                                           groupID: "test-\(UUID())", topics: [topic])
        let records = try consumer.readEvents(eventIDs)
        #expect(Set(records.compactMap { $0.header("ce_id") }) == eventIDs, "every event reached Kafka")
        for (key, expected) in order {
            var seen: [String] = []
            for record in records where String(decoding: record.key, as: UTF8.self) == key {
                if let id = record.header("ce_id"), !seen.contains(id) { seen.append(id) }
            }
            #expect(seen == expected, "key \(key) out of order")
        }
    }

    /// Stops both relays (a second call does nothing).
    func stop() {
        sources.forEach { $0.stop(deadline: .now + .seconds(2)) }
        standby.stop(drainTimeout: .seconds(2))
        owner.stop(drainTimeout: .seconds(2))
    }

    deinit {
        stop()
        producers.forEach { $0.close(flushTimeout: .seconds(1)) }
        pool.close()
    }
}

/// A standby relay takes the shards of an owner whose session ended on the server (issue #14).
@Suite(.serialized) struct RelayTakeoverTests {
    static let quickKeepalive = PostgresKeepalive(idle: .seconds(1), interval: .seconds(1), count: 2)

    /// The owner's sessions ended by `pg_terminate_backend` (its role may no longer log in, so it
    /// cannot take the shard back): the standby owns the shard within the takeover interval and
    /// publishes the rest; nothing is lost, each key's order holds.
    @Test func aTerminatedOwnerSessionIsTakenOverByTheStandby() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let role = "obx_owner_\(Int.random(in: 100_000...999_999))"
        let admin = try database.connect()
        defer { admin.close() }
        try admin.executeScript("CREATE ROLE \(role) LOGIN SUPERUSER")
        defer { _ = try? admin.executeScript("DROP ROLE IF EXISTS \(role)") }
        let ownerURL = database.url.replacingOccurrences(of: "://postgres@", with: "://\(role)@")
        let rig = try TakeoverRig(owner: ownerURL, standby: database.url, keepalive: Self.quickKeepalive)
        rig.owner.run()
        try waitUntil("the owner owns the shard") { rig.owner.status.ownedShards == [0] }
        rig.standby.run()
        try rig.write(10)
        try waitUntil("the owner publishes") { try rig.pending() == 0 }
        #expect(rig.standby.status.published == 0)

        try admin.executeScript("ALTER ROLE \(role) NOLOGIN")
        let ended = try admin.query("SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1) t",
                                    [role]).first?.require(Int.self, "n")
        #expect(ended == 2, "the owner's two sessions")
        try waitUntil("the standby owns the shard") { rig.standby.status.ownedShards == [0] }
        try rig.write(10)
        try waitUntil("the standby publishes the rest") { try rig.pending() == 0 }
        // Its count follows its commit: the rows are marked before its thread counts them.
        try waitUntil("the standby counts what it published") { rig.standby.status.published > 0 }
        try rig.expectEverythingPublishedInOrder()
    }

    /// The owner's path to PostgreSQL blackholed (a partition: no packet either way, no RST).
    /// The server's keepalives end the owner's sessions and release its shard lock, and the
    /// standby takes over; before, the lock stayed for the kernel default (~2 h). The wait below
    /// only bounds a failure: the takeover comes after 1 s + 1 s × 2 of silence.
    @Test(.enabled(if: NamespacedPostgres.isPossible, "needs root, ip netns and the blackhole qdisc"))
    func aBlackholedOwnerIsTakenOverByTheStandby() throws {
        let cluster = try NamespacedPostgres()
        defer { cluster.close() }
        let rig = try TakeoverRig(owner: cluster.url("a"), standby: cluster.url("b"), keepalive: Self.quickKeepalive)
        // An owner whose sessions never noticed (no keepalives) would block its stop for hours.
        defer {
            cluster.heal("a")
            rig.stop()
        }
        rig.owner.run()
        try waitUntil("the owner owns the shard") { rig.owner.status.ownedShards == [0] }
        rig.standby.run()
        try rig.write(10)
        try waitUntil("the owner publishes") { try rig.pending() == 0 }
        #expect(rig.standby.status.published == 0)

        try cluster.blackhole("a")
        try rig.write(10)
        try waitUntil("the standby owns the shard", timeout: .seconds(60)) { rig.standby.status.ownedShards == [0] }
        try waitUntil("the standby publishes the rest") { try rig.pending() == 0 }
        // Its count follows its commit: the rows are marked before its thread counts them.
        try waitUntil("the standby counts what it published") { rig.standby.status.published > 0 }
        // Each of the owner's two sessions times out on its own keepalives, counted from its own last
        // packet: the one that held the lock may go first, so the other gets the same 1 s + 1 s × 2.
        try waitUntil("the server ended the blackholed owner's sessions", timeout: .seconds(10)) {
            try rig.pool.withConnection {
                try $0.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE client_addr = $1::inet",
                             [cluster.clientAddress("a")]).first?.require(Int.self, "n")
            } == 0
        }
        try rig.expectEverythingPublishedInOrder()
    }

    /// Issue #27: the same partition with `RELAY_SOURCE=wal`. The owner relay and its WAL source
    /// reach PostgreSQL through the blackholed path; the server ends the owner's stream
    /// (`wal_sender_timeout`, set to the keepalive bound) and sessions, and the standby's source
    /// takes the slot over and its relay the shard: an event written then is published through the
    /// standby's stream although both relays poll hourly.
    @Test(.enabled(if: NamespacedPostgres.isPossible, "needs root, ip netns and the blackhole qdisc"))
    func aBlackholedWalOwnerIsTakenOverByTheStandby() throws {
        let cluster = try NamespacedPostgres(settings: "-c wal_level=logical")
        defer { cluster.close() }
        let slot = WalSourceTests.slotName()
        let rig = try TakeoverRig(owner: cluster.url("a"), standby: cluster.url("b"), keepalive: Self.quickKeepalive) {
            $0.source = .wal
            $0.walSlot = slot
            $0.pollInterval = .seconds(3600)
        }
        defer {
            cluster.heal("a")
            rig.stop()
        }
        let (ownerSource, standbySource) = (rig.sources[0], rig.sources[1])
        rig.owner.run()
        ownerSource.run()
        try waitUntil("the owner owns the shard and streams") { rig.owner.status.ownedShards == [0] && ownerSource.status.phase == .streaming }
        rig.standby.run()
        standbySource.run()
        try waitUntil("the standby's source stands by") { standbySource.status.phase == .standby }
        try rig.write(5)
        try waitUntil("the owner publishes through its stream") { try rig.pending() == 0 }
        #expect(rig.standby.status.published == 0)

        try cluster.blackhole("a")
        try waitUntil("the standby's source streams the slot", timeout: .seconds(60)) { standbySource.status.phase == .streaming }
        try waitUntil("the standby owns the shard", timeout: .seconds(60)) { rig.standby.status.ownedShards == [0] }
        // Both poll hourly and the standby's claims after taking the shard are done: only its stream wakes it now.
        try waitUntil("the standby is idle") { try rig.pending() == 0 }
        let before = rig.standby.status.published
        // Another service's events: nothing in this process wakes a relay.
        try rig.pool.withConnection { connection in
            for n in 0..<5 { try connection.query("SELECT outbox_emit('task-events', $1, 'order.placed', '{}')", ["wal-\(n % 2)"]) }
        }
        try waitUntil("the standby publishes through its stream") { try rig.pending() == 0 }
        try waitUntil("the standby counts what it published") { rig.standby.status.published > before }
        try rig.expectEverythingPublishedInOrder()
    }
}
