import Foundation
import OutboxdKafka
import OutboxdPostgres
import OutboxdTestSupport
import Testing

/// The real-broker tier (issue #13): the paths that matter against Tansu, a Kafka-protocol broker
/// in a process of its own, with librdkafka 2.16.1 (`scripts/test-real-broker.sh`, part of
/// `make test`). Each scenario counts like the fault suite and prints one `FAULT real-…` line.
/// Serialized: they share the broker, and one of them stops it.
@Suite(.serialized, .enabled(if: FaultRig.realBroker != nil, "needs OUTBOXD_TEST_KAFKA: run scripts/test-real-broker.sh"))
struct RealBrokerScenarios {
    let scale = FaultScale.current

    func run(for duration: Duration) {
        Thread.sleep(forTimeInterval: duration.seconds) // the load runs meanwhile; nothing to await
    }

    /// Tasks → events read back by a real consumer group: every event once at least, keys and
    /// `ce_id` as in the outbox, per-task order; the audit consumer applies each exactly once. The
    /// events topic did not exist: the daemon created it at start-up with KAFKA_TOPIC_PARTITIONS.
    @Test func eventsReachARealConsumerGroupInOrder() throws {
        let rig = try FaultRig(realBroker: true)
        let (serve, port) = try rig.serve()
        try serve.waitForOutput("created topic topic=\(rig.topic) ")
        let load = LoadGenerator(port: port, scale: scale)
        load.start()
        run(for: scale.phase * 2)
        let samples = load.stop()
        let counts = try FaultCounts.collect(rig, samples: samples, timeout: scale.recoveryTimeout)
        let partitions = try RDKafkaConsumer(configuration: KafkaClientConfiguration(bootstrapServers: rig.bootstrapServers),
                                             groupID: "meta-\(UUID())", topics: [rig.topic])
            .watermarks(topic: rig.topic, partition: Int32(FaultRig.partitions - 1), timeout: .seconds(10))
        FaultLine.print("real-events", [("broker", "tansu"), ("requests", String(samples.count))] + counts.fields)
        #expect(partitions.high >= 0, "the created topic has KAFKA_TOPIC_PARTITIONS partitions")
        #expect(samples.allSatisfy { $0.isSuccess }, "\(Set(samples.map(\.status)))")
        #expect(counts.acknowledged > 0)
        counts.expectCompleteAndOrdered()
        #expect(try rig.terminate([serve]) == [0])
    }

    /// The three consumers on a real broker: audit rows for every event, a notification for each
    /// created and each completed task, a reminder for each task with a due date; and how long
    /// the first event of a new topic took from its POST to its audit row.
    @Test func theThreeConsumersApplyTheirEffects() throws {
        let rig = try FaultRig(realBroker: true)
        let (serve, port) = try rig.serve(["CONSUMERS": "audit,notifications,reminders"])
        try waitUntil("the three consumers have their partitions", timeout: .seconds(60)) {
            let consumers = try HTTPTestClient(port: port).request("GET", "/readyz").json().objectValue?["components"]?.objectValue?["consumers"]?.objectValue
            return ["audit", "notifications", "reminders"].allSatisfy {
                consumers?[$0]?.objectValue?["assigned_partitions"]?.intValue == FaultRig.partitions
            }
        }
        let client = try HTTPTestClient(port: port)
        let first = ContinuousClock.now
        let created = try client.json("POST", "/tasks", #"{"title":"first","due_at":"2099-01-01T09:00:00Z"}"#)
        #expect(created.status == 201)
        let firstID = try #require(try created.json().objectValue?["id"]?.stringValue)
        try waitUntil("the first event's audit row", timeout: .seconds(60)) {
            try rig.count("SELECT count(*) FROM audit_log WHERE task_id = $1::uuid", [firstID]) == 1
        }
        let firstEffect = ContinuousClock.now - first
        var ids = [firstID]
        for n in 0..<9 {
            let response = try client.json("POST", "/tasks", #"{"title":"task \#(n)","due_at":"2099-01-0\#(n + 1)T09:00:00Z"}"#)
            ids.append(try #require(try response.json().objectValue?["id"]?.stringValue))
        }
        #expect(try client.json("PATCH", "/tasks/\(ids[1])", #"{"status":"done"}"#).status == 200)
        try waitUntil("every effect is applied", timeout: scale.recoveryTimeout) {
            try rig.count("SELECT count(*) FROM audit_log") == 12
                && rig.count("SELECT count(*) FROM notifications") == 11
                && rig.count("SELECT count(*) FROM reminders WHERE status = 'scheduled'") == 9
        }
        FaultLine.print("real-consumers", [("broker", "tansu"), ("first_effect_ms", String(firstEffect.wholeMilliseconds)),
                                           ("audit", String(try rig.count("SELECT count(*) FROM audit_log"))),
                                           ("notifications", String(try rig.count("SELECT count(*) FROM notifications"))),
                                           ("reminders", String(try rig.count("SELECT count(*) FROM reminders")))])
        #expect(try rig.count("SELECT count(*) FROM inbox") == 3 * 12, "each consumer applied each event once")
        #expect(firstEffect < .seconds(10), "the consumers were subscribed to the created topic before the first publish")
        #expect(try rig.terminate([serve]) == [0])
    }

    /// G2 on a real broker: `kill -9` of `outboxd relay` under load loses nothing; the audit
    /// consumer (its own process) applies every event exactly once.
    @Test func killedRelayLosesNothing() throws {
        try FaultScenarios().killRelayUnderLoad(try FaultRig(realBroker: true), scenario: "real-kill-relay")
    }

    /// The same with `RELAY_SOURCE=wal` (issue #27): the relays stream a slot of the rig's own;
    /// `kill -9` of the streaming one under load loses nothing, and the standby takes the slot over.
    @Test func killedWalRelayLosesNothing() throws {
        try FaultScenarios().killRelayUnderLoad(try FaultRig(realBroker: true, relaySource: "wal"), scenario: "real-kill-relay-wal")
    }

    /// G4 on a real broker: the broker's process frozen (SIGSTOP) for a while under load; the API
    /// answers every request 201/200 all along (its latency is printed beside the latency before),
    /// and after SIGCONT everything is published and applied, nothing lost.
    @Test func aStalledBrokerKeepsTheAPIAnsweringAndLosesNothing() throws {
        let rig = try FaultRig(realBroker: true)
        let (serve, port) = try rig.serve()
        let load = LoadGenerator(port: port, scale: scale)
        load.start()
        try rig.waitForAuditConsumer()
        let started = ContinuousClock.now
        run(for: scale.phase)
        let stalled = ContinuousClock.now
        rig.stallBroker()
        run(for: scale.stall)
        let resumed = ContinuousClock.now
        let backlog = try rig.pending()
        rig.resumeBroker()
        run(for: scale.phase)
        let samples = load.stop()
        let counts = try FaultCounts.collect(rig, samples: samples, timeout: scale.recoveryTimeout)
        let during = samples.filter { $0.started >= stalled && $0.started < resumed }
        FaultLine.print("real-broker-stall", [("broker", "tansu"), ("stall_s", String(Int(scale.stall.seconds))),
                                              ("requests", String(samples.count)), ("requests_in_stall", String(during.count)),
                                              ("pending_at_resume", String(backlog))]
                        + Latency(samples.filter { $0.started >= started && $0.started < stalled }).fields("before")
                        + Latency(during).fields("stall") + counts.fields)
        #expect(samples.allSatisfy { $0.isSuccess }, "\(Set(samples.map(\.status)))")
        #expect(during.count > 0, "requests were answered while the broker was stopped")
        #expect(backlog > 0, "the relay could not publish while the broker was stopped")
        counts.expectCompleteAndOrdered()
        #expect(try rig.terminate([serve]) == [0])
    }

    /// G6 on a real broker: a row another service wrote with a 2 MB payload, over the producer's
    /// message.max.bytes (1 MB: Tansu itself sets no limit), is parked at its first attempt with
    /// the error, while the load's events all flow.
    @Test func anOversizedEventIsParkedWhileOtherKeysFlow() throws {
        let rig = try FaultRig(realBroker: true)
        let (serve, port) = try rig.serve()
        let load = LoadGenerator(port: port, scale: scale)
        load.start()
        try rig.waitForAuditConsumer()
        let connection = try rig.connect()
        defer { connection.close() }
        try connection.query("""
            INSERT INTO outbox (event_id, aggregate_type, aggregate_id, event_type, topic, payload)
            VALUES (gen_random_uuid(), 'blob', 'blob-1', 'blob.stored', $1, jsonb_build_object('data', repeat('x', 2000000)))
            """, [rig.topic])
        run(for: scale.phase)
        let samples = load.stop()
        try waitUntil("the oversized row is parked", timeout: scale.recoveryTimeout) {
            try rig.count("SELECT count(*) FROM outbox WHERE parked_at IS NOT NULL") == 1
        }
        let parked = try #require(try connection.query("SELECT attempts, last_error FROM outbox WHERE parked_at IS NOT NULL").first)
        #expect(try parked.require(Int.self, "attempts") == 1)
        #expect(try parked.require(String.self, "last_error").contains("MSG_SIZE_TOO_LARGE"))
        // Everything else, counted as in the other scenarios once the parked row is out of the way.
        try connection.query("DELETE FROM outbox WHERE parked_at IS NOT NULL")
        let counts = try FaultCounts.collect(rig, samples: samples, timeout: scale.recoveryTimeout)
        FaultLine.print("real-oversized", [("broker", "tansu"), ("parked", "1"), ("requests", String(samples.count))] + counts.fields)
        #expect(samples.allSatisfy { $0.isSuccess })
        counts.expectCompleteAndOrdered()
        #expect(try rig.terminate([serve]) == [0])
    }

    /// Topics are provisioned, not hoped for: with KAFKA_TOPIC_CREATE=never a missing events
    /// topic stops start-up (exit 78, naming it); with `auto` a row for a topic no one created is
    /// published after the relay creates the topic; with `never` such a row is parked at once.
    @Test func aTopicThatDoesNotExist() throws {
        let rig = try FaultRig(realBroker: true)
        let refused = try rig.start(["relay"], ["KAFKA_TOPIC_CREATE": "never"])
        #expect(try refused.waitForExit() == 78)
        #expect(refused.output.contains("topic(s) \(rig.topic), \(rig.topic).dlq missing") && refused.output.contains("KAFKA_TOPIC_CREATE=auto"),
                "\(refused.output.suffix(2000))")

        let relay = try rig.start(["relay"])
        try relay.waitForOutput("owning shards")
        let connection = try rig.connect()
        defer { connection.close() }
        let created = "\(rig.topic)-other"
        try insertOrder(key: "o-1", topic: created, on: connection)
        try waitUntil("the row for the new topic is published", timeout: .seconds(60)) {
            try rig.count("SELECT count(*) FROM outbox WHERE topic = $1 AND published_at IS NOT NULL", [created]) == 1
        }
        let reader = try RDKafkaConsumer(configuration: KafkaClientConfiguration(bootstrapServers: rig.bootstrapServers, properties: FaultRig.readerSettings),
                                         groupID: "read-\(UUID())", topics: [created])
        let records = try reader.read(count: 1, timeout: .seconds(60))
        reader.close()
        #expect(records.count == 1 && records.first.map { String(decoding: $0.key, as: UTF8.self) } == "o-1")
        #expect(try rig.terminate([relay]) == [0])

        let strict = try rig.start(["relay"], ["KAFKA_TOPIC_CREATE": "never", "RELAY_DELIVERY_TIMEOUT": "5m"])
        try strict.waitForOutput("owning shards")
        let missing = "\(rig.topic)-missing"
        try insertOrder(key: "o-2", topic: missing, on: connection)
        try waitUntil("the row for the missing topic is parked", timeout: .seconds(60)) {
            try rig.count("SELECT count(*) FROM outbox WHERE topic = $1 AND parked_at IS NOT NULL AND attempts = 1", [missing]) == 1
        }
        let error = try #require(try connection.query("SELECT last_error FROM outbox WHERE topic = $1", [missing]).first).require(String.self, "last_error")
        FaultLine.print("real-missing-topic", [("broker", "tansu"), ("startup_exit", "78"), ("created_and_published", "1"), ("parked", "1")])
        #expect(error.contains("UNKNOWN_TOPIC_OR_PART") && error.contains(missing), "\(error)")
        #expect(try rig.terminate([strict]) == [0])
    }

    /// An outbox row as another service writes it with SQL: an order event for `topic`.
    func insertOrder(key: String, topic: String, on connection: PQConnection) throws {
        try connection.query("""
            INSERT INTO outbox (event_id, aggregate_type, aggregate_id, event_type, topic, payload)
            VALUES (gen_random_uuid(), 'order', $1, 'order.placed', $2, '{"n":1}')
            """, [key, topic])
    }
}
