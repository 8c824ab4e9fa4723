import CRdKafka
import Foundation
import OutboxdKafka
import OutboxdPostgres
import OutboxdTestSupport
import Testing

/// `outboxd relay` and `outboxd api` as processes of their own, on a Kafka cluster the test owns.
@Suite struct RelayProcessTests {
    let topic = "task-events"

    /// How long a WAL relay may take to start streaming: creating its slot waits for the
    /// transactions running then (other tests') and the server's next log of them (every 15 s).
    static let slotCreation: Duration = .seconds(90)

    func kafka() throws -> RDKafkaMockCluster { try RDKafkaMockCluster(brokers: 3, topics: [(topic, 4), (topic + ".dlq", 1)]) }

    func relay(_ database: TestDatabase, _ kafka: RDKafkaMockCluster, _ extra: [String: String] = [:]) throws -> DaemonProcess {
        try DaemonProcess(arguments: ["relay"], environment: [
            "DATABASE_URL": database.url, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrapServers,
            "RELAY_TAKEOVER_INTERVAL": "100ms", "RELAY_BACKOFF_BASE": "50ms", "RELAY_BACKOFF_MAX": "500ms",
        ].merging(extra) { $1 })
    }

    func consume(_ kafka: RDKafkaMockCluster, _ count: Int) throws -> [KafkaRecord] {
        let consumer = try RDKafkaConsumer(configuration: KafkaClientConfiguration(bootstrapServers: kafka.bootstrapServers),
                                           groupID: "test-\(UUID())", topics: [topic])
        return try consumer.read(count: count, timeout: .seconds(60))
    }

    /// Every event id in the outbox, read back from Kafka (duplicates included).
    func consumeAll(_ kafka: RDKafkaMockCluster, expected: Set<String>) throws -> [KafkaRecord] {
        let consumer = try RDKafkaConsumer(configuration: KafkaClientConfiguration(bootstrapServers: kafka.bootstrapServers),
                                           groupID: "test-\(UUID())", topics: [topic])
        return try consumer.readEvents(expected)
    }

    /// Inserts tasks with their events straight into PostgreSQL (the API's statement is tested elsewhere).
    func insertTasks(_ database: TestDatabase, _ count: Int) throws {
        try database.connect().executeScript("""
            WITH t AS (INSERT INTO tasks (title) SELECT 'bulk ' || n FROM generate_series(1, \(count)) n RETURNING tasks AS task)
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload)
            SELECT 'task', (t.task).id::text, 'task.created', 'task-events', outboxd_task_json(t.task) FROM t
            """)
    }

    func pending(_ database: TestDatabase) throws -> Int {
        try database.count("outbox", where: "published_at IS NULL AND parked_at IS NULL")
    }

    /// A relay in another process hears of the API's commits by NOTIFY: with a one-hour poll
    /// interval, events still arrive at once.
    @Test func apiNotifiesASeparateRelay() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try kafka()
        let relay = try relay(database, kafka, ["RELAY_POLL_INTERVAL": "1h"])
        try relay.waitForOutput("owning shards")
        let api = try DaemonProcess(arguments: ["api", "--http-listen", "127.0.0.1:0"], environment: ["DATABASE_URL": database.url])
        let client = try HTTPTestClient(port: try api.waitForPort())
        for n in 0..<3 {
            #expect(try client.json("POST", "/tasks", #"{"title":"notified \#(n)"}"#).status == 201)
            try waitUntil("event \(n) is published", timeout: .seconds(20)) { try pending(database) == 0 }
        }
        #expect(try consume(kafka, 3).count == 3)
        api.signal(SIGTERM)
        relay.signal(SIGTERM)
        #expect(try api.waitForExit() == 0)
        #expect(try relay.waitForExit() == 0)
    }

    /// `Prefer: wait` on `outboxd api` with the relay in another process: answered once the relay's
    /// NOTIFY after its batch arrives (issue #14: it polled the database every 10 ms per request).
    @Test func preferWaitIsAnsweredByTheSeparateRelaysNotify() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try kafka()
        let relay = try relay(database, kafka)
        try relay.waitForOutput("owning shards")
        let api = try DaemonProcess(arguments: ["api", "--http-listen", "127.0.0.1:0"], environment: ["DATABASE_URL": database.url])
        let client = try HTTPTestClient(port: try api.waitForPort())
        for n in 0..<5 {
            let response = try client.json("POST", "/tasks", #"{"title":"waited \#(n)"}"#, headers: [("Prefer", "wait=20")])
            #expect(response.status == 201, "\(response.text)")
            let event = try #require(try response.json()["event"])
            let row = try #require(try database.connect().query("SELECT kafka_partition, kafka_offset FROM outbox WHERE event_id = $1::uuid",
                                                                [try #require(event["id"]?.stringValue)]).first)
            #expect(event["partition"]?.intValue == (try row.require(Int.self, "kafka_partition")))
            #expect(event["offset"]?.intValue == (try row.require(Int.self, "kafka_offset")))
        }
        let scrape = try PrometheusScrape(try client.request("GET", "/metrics").text)
        #expect(scrape.value("outboxd_delivery_waits_total", ["outcome": "delivered"]) == 5)
        #expect((scrape.value("outboxd_delivery_wait_lookups_total", ["trigger": "notify"]) ?? 0) >= 1)
        api.signal(SIGTERM)
        relay.signal(SIGTERM)
        #expect(try api.waitForExit() == 0)
        #expect(try relay.waitForExit() == 0)
    }

    /// G2: kill -9 of the relay in the middle of a batch loses nothing; the restarted relay
    /// re-sends what was not marked (duplicates, same ce_id).
    @Test func killedRelayLosesNoEvent() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try kafka()
        let total = 3000
        try insertTasks(database, total)
        for broker in 1...3 { kafka.setRoundTrip(.milliseconds(30), broker: Int32(broker)) }
        let first = try relay(database, kafka, ["RELAY_BATCH_SIZE": "200"])
        try waitUntil("the first relay has published part of the backlog") {
            try database.count("outbox", where: "published_at IS NOT NULL") >= 200
        }
        first.signal(SIGKILL)
        #expect(try first.waitForExit() == 128 + SIGKILL)
        #expect(try pending(database) > 0)

        let second = try relay(database, kafka)
        try waitUntil("the backlog is drained", timeout: .seconds(120)) { try pending(database) == 0 }
        let eventIDs = Set(try database.connect().query("SELECT event_id::text AS id FROM outbox").map { try $0.require(String.self, "id") })
        let records = try consumeAll(kafka, expected: eventIDs)
        let distinct = Set(records.compactMap { $0.header("ce_id") })
        #expect(distinct == eventIDs)
        #expect(distinct.count == total)
        print("kill -9 relay: \(total) events, \(records.count - distinct.count) duplicates")
        second.signal(SIGTERM)
        #expect(try second.waitForExit() == 0)
    }

    /// One relay owns the shard; a standby takes over within seconds of the owner's death.
    @Test func standbyRelayTakesOverWhenTheOwnerDies() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try kafka()
        let owner = try relay(database, kafka)
        try owner.waitForOutput("owning shards shards=0")
        let standby = try relay(database, kafka)
        try standby.waitForOutput("ready parts=relay")
        try insertTasks(database, 10)
        try waitUntil("the owner publishes") { try pending(database) == 0 }
        let locks = try database.count("pg_locks", where: "locktype = 'advisory' AND classid = 1868723832 AND objid < 256 AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")
        #expect(locks == 1)
        #expect(!standby.output.contains("owning shards"))

        owner.signal(SIGKILL)
        _ = try owner.waitForExit()
        try standby.waitForOutput("owning shards shards=0", timeout: .seconds(30))
        try insertTasks(database, 10)
        try waitUntil("the standby publishes") { try pending(database) == 0 }
        let eventIDs = Set(try database.connect().query("SELECT event_id::text AS id FROM outbox").map { try $0.require(String.self, "id") })
        #expect(eventIDs.count == 20)
        #expect(Set(try consumeAll(kafka, expected: eventIDs).compactMap { $0.header("ce_id") }) == eventIDs)
        standby.signal(SIGTERM)
        #expect(try standby.waitForExit() == 0)
    }

    /// G8: SIGTERM under load: every acknowledged task's event is published before exit 0.
    @Test func sigtermUnderLoadLeavesNothingAcknowledgedUnpublished() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try kafka()
        let serve = try DaemonProcess(arguments: ["serve", "--http-listen", "127.0.0.1:0"], environment: [
            "DATABASE_URL": database.url, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrapServers])
        let port = try serve.waitForPort()
        let acknowledged = Collected<String>()
        let stopLoad = Collected<Bool>()
        let load = Thread {
            concurrently(8) { _ in
                guard let client = try? HTTPTestClient(port: port) else { return }
                while stopLoad.all.isEmpty {
                    guard let response = try? client.json("POST", "/tasks", #"{"title":"load"}"#) else { return }
                    if response.status == 201, let id = try? response.json().objectValue?["id"]?.stringValue { acknowledged.add(id) }
                    if response.header("Connection")?.lowercased() == "close" { return }
                }
            }
            stopLoad.add(true)
        }
        load.start()
        try waitUntil("load is running") { acknowledged.all.count >= 200 }
        serve.signal(SIGTERM)
        #expect(try serve.waitForExit() == 0)
        stopLoad.add(true)
        try waitUntil("the load threads ended") { stopLoad.all.count >= 2 }
        let ids = acknowledged.all
        #expect(ids.count >= 200)
        let unpublished = try database.count("outbox", where: "published_at IS NULL AND aggregate_id = ANY($1::text[])", [ids])
        #expect(unpublished == 0)
        #expect(try database.count("outbox", where: "aggregate_id = ANY($1::text[])", [ids]) == ids.count)
    }

    /// A fatal producer error (the broker breaks the idempotent producer's sequence) ends
    /// `outboxd relay` cleanly with exit 75, for systemd to restart it, and burns no row's
    /// attempts; a new relay then publishes every event.
    @Test func aFatalProducerErrorExits75AndANewRelayPublishesEverything() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try kafka()
        let doomed = try relay(database, kafka)
        try doomed.waitForOutput("owning shards")
        try insertTasks(database, 5)
        try waitUntil("the first events are published", timeout: .seconds(30)) { try pending(database) == 0 }
        try database.connect().executeScript("DELETE FROM outbox")
        kafka.failNextProduceRequests(1, with: RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER)
        try insertTasks(database, 20)
        let exit = try doomed.showingOutputOnFailure { try doomed.waitForExit(timeout: .seconds(60)) }
        #expect(exit == 75, "\(doomed.output.suffix(3000))")
        #expect(doomed.output.contains("fatal producer error"), "\(doomed.output.suffix(3000))")
        #expect(try database.count("outbox", where: "attempts > 0 OR parked_at IS NOT NULL") == 0, "no attempt was counted against the events")
        #expect(try pending(database) + database.count("outbox", where: "published_at IS NOT NULL") == 20)

        let fresh = try relay(database, kafka)
        try fresh.showingOutputOnFailure {
            try waitUntil("the new relay publishes every event", timeout: .seconds(60)) { try pending(database) == 0 }
        }
        fresh.signal(SIGTERM)
        #expect(try fresh.waitForExit() == 0)
    }

    /// Issue #14: a rolling change of RELAY_SHARDS ran two relays with different counts, both
    /// publishing one key's events. A relay started with another count than the running one's
    /// exits 78 (a configuration error naming RELAY_SHARDS, the count in use and the way to
    /// change it); after every relay stopped, the new count starts and is recorded.
    @Test func aRelayWithAnotherShardCountExits78() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try kafka()
        let running = try relay(database, kafka, ["RELAY_SHARDS": "2"])
        try running.waitForOutput("owning shards shards=0,1")
        let refused = try relay(database, kafka, ["RELAY_SHARDS": "4"])
        let exit = try refused.showingOutputOnFailure { try refused.waitForExit(timeout: .seconds(60)) }
        #expect(exit == 78, "\(refused.output.suffix(2000))")
        #expect(refused.output.contains("RELAY_SHARDS=4, but the running relays use 2 shard(s)"), "\(refused.output.suffix(2000))")
        #expect(refused.output.contains("stop every relay"))
        #expect(!refused.output.contains("owning shards"))
        try insertTasks(database, 10)
        try waitUntil("the running relay publishes") { try pending(database) == 0 }

        running.signal(SIGTERM)
        #expect(try running.waitForExit() == 0)
        let resharded = try relay(database, kafka, ["RELAY_SHARDS": "4"])
        try resharded.waitForOutput("owning shards shards=0,1,2,3")
        #expect(resharded.output.contains("recorded the shard count shards=4 previous=2"))
        #expect(try database.scalar("SELECT shards FROM outbox_relay_shards") == 4)
        try insertTasks(database, 10)
        try waitUntil("the resharded relay publishes") { try pending(database) == 0 }
        resharded.signal(SIGTERM)
        #expect(try resharded.waitForExit() == 0)
    }

    /// Issue #27: `RELAY_SOURCE=wal` on a cluster without logical decoding is refused with exit 78
    /// naming the setting; on one with it, `outboxd relay` (polling hourly) publishes another
    /// session's `outbox_emit` through its slot, and stops with exit 0.
    @Test func aWalRelayIsRefusedWithoutLogicalDecodingAndPublishesWithIt() throws {
        let cluster = try TestCluster()
        let migrate = try DaemonProcess(arguments: ["migrate"], environment: ["DATABASE_URL": cluster.url])
        #expect(try migrate.waitForExit() == 0)
        let level = try PQConnection(conninfo: cluster.url).query("SHOW wal_level").first?.require(String.self, "wal_level")
        try #require(level == "replica", "the private cluster runs with PostgreSQL's default wal_level")
        let kafka = try kafka()
        let refused = try DaemonProcess(arguments: ["relay"], environment: [
            "DATABASE_URL": cluster.url, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrapServers, "RELAY_SOURCE": "wal",
        ])
        #expect(try refused.showingOutputOnFailure { try refused.waitForExit(timeout: .seconds(60)) } == 78)
        #expect(refused.output.contains("RELAY_SOURCE=wal: wal_level is replica, not logical"), "\(refused.output.suffix(2000))")

        let database = try TestDatabase.create()
        defer { database.drop() }
        let slot = "outboxd_e2e_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        let running = try DaemonProcess(arguments: ["relay", "--metrics-listen", "127.0.0.1:0"], environment: [
            "DATABASE_URL": database.url, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrapServers,
            "RELAY_SOURCE": "wal", "RELAY_WAL_SLOT": String(slot), "RELAY_POLL_INTERVAL": "1h",
        ])
        let metricsPort = try running.waitForPort()
        try running.waitForOutput("streaming the outbox's inserts", timeout: Self.slotCreation)
        let writer = try database.connect()
        defer { writer.close() }
        try writer.executeScript("SET synchronous_commit = on")
        let eventID = try #require(try writer.query("SELECT outbox_emit('task-events', 'e2e', 'order.placed', '{}') AS id").first?.require(UUID.self, "id"))
        // A table-less event: published from the slot, no row.
        let messageID = try #require(try writer.query("SELECT outbox_emit_message('task-events', 'e2e', 'order.placed', '{}') AS id").first?.require(UUID.self, "id"))
        let records = try consume(kafka, 2)
        // (Per-key order does not hold between a key's rows and its messages: README.)
        #expect(Set(records.compactMap { $0.header("ce_id") }) == [eventID.lowercaseString, messageID.lowercaseString])
        #expect(try database.count("outbox", where: "event_id = $1", [messageID]) == 0)
        // /readyz shows the source; /metrics exports what the shipped alert rules and dashboard read.
        // (A client of its own: an idle keep-alive connection is closed by the listener meanwhile.)
        let client = try HTTPTestClient(port: metricsPort)
        let ready = try client.request("GET", "/readyz")
        #expect(ready.status == 200)
        let wal = try ready.json().objectValue?["components"]?.objectValue?["wal"]?.objectValue
        #expect(wal?["phase"]?.stringValue == "streaming", "\(ready.text)")
        #expect(wal?["slot"]?.stringValue == String(slot))
        let scrape = try PrometheusScrape(try client.request("GET", "/metrics").text)
        #expect(scrape.value("outboxd_wal_streaming") == 1)
        #expect((scrape.value("outboxd_wal_transactions_total") ?? 0) >= 1)
        #expect((scrape.value("outboxd_wal_messages_total") ?? 0) >= 1)
        let shipped = try ["config/outboxd-alerts.yml", "config/outboxd-dashboard.json"].map {
            try String(contentsOf: TestEnvironment.repositoryRoot.appendingPathComponent($0), encoding: .utf8)
        }.joined()
        let used = Set(shipped.matches(of: /outboxd_wal_[a-z_]+/).map { String($0.output) })
        #expect(used.count >= 3)
        for name in used { #expect(scrape.types[name] != nil, "the alert rules or dashboard use \(name), which /metrics does not export") }
        // A relay of the other mode on the same database is refused while this one runs.
        let polling = try DaemonProcess(arguments: ["relay"], environment: [
            "DATABASE_URL": database.url, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrapServers, "RELAY_SOURCE": "poll",
        ])
        #expect(try polling.showingOutputOnFailure { try polling.waitForExit(timeout: .seconds(60)) } == 78)
        #expect(polling.output.contains("RELAY_SOURCE=poll, but a relay with RELAY_SOURCE=wal runs on this database"), "\(polling.output.suffix(2000))")
        running.signal(SIGTERM)
        #expect(try running.waitForExit() == 0)
        #expect(try database.scalar("SELECT count(*)::int FROM pg_replication_slots WHERE slot_name = $1", [String(slot)]) == 1,
                "the slot outlives the relay (dropped by TestDatabase.drop)")
    }

    /// Issue #27: the README's switch of a running deployment, poll → wal → poll, with another
    /// service writing before, during and after each step (rows throughout, table-less events in
    /// wal mode): every event reaches Kafka, and once the slot is dropped as the README says,
    /// `outbox_emit_message` refuses instead of losing events.
    @Test func aDeploymentSwitchesFromPollToWalAndBackLosingNothing() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try kafka()
        let slot = String("outboxd_e2e_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12))
        let writer = try database.connect()
        defer { writer.close() }
        try writer.executeScript("SET synchronous_commit = on")
        var expected: Set<String> = []
        func emit(_ count: Int, function: String = "outbox_emit") throws {
            for n in 0..<count {
                let id = try #require(try writer.query("SELECT \(function)('task-events', $1, 'order.placed', '{}') AS id",
                                                       ["switch-\(n % 3)"]).first?.require(UUID.self, "id"))
                expected.insert(id.lowercaseString)
            }
        }
        let poll = ["RELAY_SOURCE": "poll", "RELAY_POLL_INTERVAL": "200ms"]
        let wal = ["RELAY_SOURCE": "wal", "RELAY_WAL_SLOT": slot, "RELAY_POLL_INTERVAL": "1h"]

        var running = try relay(database, kafka, poll)
        try running.waitForOutput("owning shards")
        try emit(10)
        // Poll → wal: stop every relay (events wait in the outbox), start them in wal mode.
        running.signal(SIGTERM)
        #expect(try running.waitForExit() == 0)
        try emit(5)
        running = try relay(database, kafka, wal)
        try running.waitForOutput("streaming the outbox's inserts", timeout: Self.slotCreation)
        try emit(10)
        try emit(5, function: "outbox_emit_message")
        // Wal → poll: writers back on outbox_emit; the slot confirms what was written; stop, drop, start.
        let noted = try #require(try writer.query("SELECT pg_current_wal_lsn()::text AS lsn").first?.require(String.self, "lsn"))
        try waitUntil("the slot confirmed everything written", timeout: .seconds(30)) {
            try writer.query("SELECT confirmed_flush_lsn >= $1::pg_lsn AS done FROM pg_replication_slots WHERE slot_name = $2",
                             [noted, slot]).first?.require(Bool.self, "done") == true
        }
        running.signal(SIGTERM)
        #expect(try running.waitForExit() == 0)
        try writer.query("SELECT pg_drop_replication_slot($1)", [slot])
        try writer.query("DELETE FROM outbox_wal_slots WHERE slot_name = $1", [slot])
        running = try relay(database, kafka, poll)
        try running.waitForOutput("owning shards")
        try emit(5)

        let records = try consumeAll(kafka, expected: expected)
        #expect(Set(records.compactMap { $0.header("ce_id") }) == expected, "every event of every step")
        #expect(expected.count == 35)
        let fresh = try database.connect()
        defer { fresh.close() }
        #expect {
            try fresh.query("SELECT outbox_emit_message('task-events', 'k', 'order.placed', '{}')")
        } throws: { ($0 as? PostgresError)?.code == .objectNotInPrerequisiteState }
        running.signal(SIGTERM)
        #expect(try running.waitForExit() == 0)
    }

    /// Issue #27: one stream per slot. Two `outboxd relay` with `RELAY_SOURCE=wal` on one slot:
    /// one streams, the other stands by; after a kill -9 of the streaming one, the standby takes
    /// the slot (and the shard) over within the takeover interval and publishes another session's
    /// emit through its own stream (the poll is hourly).
    @Test func aStandbyWalRelayTakesTheSlotOverAfterAKill() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try kafka()
        let slot = String("outboxd_e2e_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12))
        let settings = ["RELAY_SOURCE": "wal", "RELAY_WAL_SLOT": slot, "RELAY_POLL_INTERVAL": "1h"]
        let first = try relay(database, kafka, settings)
        try first.waitForOutput("streaming the outbox's inserts", timeout: Self.slotCreation)
        try first.waitForOutput("owning shards shards=0")
        let second = try relay(database, kafka, settings)
        try second.waitForOutput("another relay streams the slot; standing by")
        #expect(!second.output.contains("streaming the outbox's inserts"))
        first.signal(SIGKILL)
        _ = try first.waitForExit()
        let killed = ContinuousClock.now
        try second.waitForOutput("streaming the outbox's inserts", timeout: .seconds(30))
        let tookOver = ContinuousClock.now - killed
        #expect(tookOver < .seconds(12), "the slot was taken over after \(tookOver)")
        try second.waitForOutput("owning shards shards=0", timeout: .seconds(30))
        let writer = try database.connect()
        defer { writer.close() }
        try writer.executeScript("SET synchronous_commit = on")
        let eventID = try #require(try writer.query("SELECT outbox_emit('task-events', 'after-kill', 'order.placed', '{}') AS id").first?.require(UUID.self, "id"))
        try waitUntil("the standby's stream wakes its relay", timeout: .seconds(10)) {
            try database.count("outbox", where: "event_id = $1 AND published_at IS NOT NULL", [eventID]) == 1
        }
        print("WAL slot taken over \(tookOver) after kill -9")
        second.signal(SIGTERM)
        #expect(try second.waitForExit() == 0)
    }
}
