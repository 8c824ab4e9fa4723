import Foundation
import OutboxdKafka
import OutboxdPostgres
import OutboxdTestSupport
import Testing

extension FaultScenarios {
    /// Issue #28: under the API's load, a neighbour service writes rows the relay cannot send —
    /// each followed, in the same transaction, by a good event of the same key — and another
    /// producer writes records to the events topic that are not events. Nothing of it stops
    /// delivery: the bad rows are parked with their reasons, the neighbour's good events arrive
    /// once each and in order per key, the load's counts are complete (0 lost, 0 order
    /// violations, and no duplicate, since nothing failed).
    @Test func aHostileNeighbourStopsNothing() throws {
        let rig = try FaultRig()
        let neighbourTopic = "neighbour-events"
        try rig.kafka.createTopic(neighbourTopic, partitions: 4)
        let (serve, port) = try rig.serve(["RELAY_BATCH_BYTES": String(2 << 20)])
        let load = LoadGenerator(port: port, scale: scale)
        load.start()
        try rig.waitForAuditConsumer()

        let neighbour = try rig.connect()
        defer { neighbour.close() }
        let stranger = try RDKafkaProducer(configuration: KafkaClientConfiguration(bootstrapServers: rig.bootstrapServers,
                                                                                   properties: [("message.max.bytes", "2000000", "test")]))
        defer { stranger.close() }
        let kinds = ["partition", "too-large-for-kafka", "too-large-for-a-claim", "unreadable"]
        var good: [(key: String, id: UUID)] = []
        let rounds = 3
        for round in 0..<rounds {
            for (n, kind) in kinds.enumerated() {
                let key = "neighbour-\(n)"
                try neighbour.begin()
                switch kind {
                case "partition": try emit(neighbour, neighbourTopic, key, partition: 99_999)
                case "too-large-for-kafka": try emit(neighbour, neighbourTopic, key, padding: 1_200_000)
                case "too-large-for-a-claim": try emit(neighbour, neighbourTopic, key, padding: 3 << 20)
                default:
                    try neighbour.executeScript("SET LOCAL session_replication_role = replica")
                    try neighbour.query("INSERT INTO outbox (topic, aggregate_id, event_type, payload, created_at) VALUES ($1, $2, 'neighbour.bad', '{}', 'infinity')",
                                        [neighbourTopic, key])
                    try neighbour.executeScript("SET LOCAL session_replication_role = origin")
                }
                good.append((key, try emit(neighbour, neighbourTopic, key)))
                try neighbour.commit()
            }
            // Records on the events topic that are not events: garbage, a tombstone, and 1 MiB whose
            // dead letter Kafka refuses (kept in consumer_dead_letters).
            let strangerKey = Array("stranger-\(round)".utf8)
            let sent = stranger.send([KafkaMessage(topic: rig.topic, key: strangerKey, value: Array("not an event \(round)".utf8)),
                                      KafkaMessage(topic: rig.topic, key: strangerKey, value: []),
                                      KafkaMessage(topic: rig.topic, key: strangerKey, value: Array(repeating: UInt8(ascii: "x"), count: 1 << 20))],
                                     timeout: .seconds(10))
            #expect(sent.allSatisfy { if case .delivered = $0 { true } else { false } }, "\(sent)")
            run(for: scale.phase)
        }
        let samples = load.stop()
        let counts = try FaultCounts.collect(rig, samples: samples, timeout: scale.recoveryTimeout)

        let parked = try neighbour.query("SELECT last_error FROM outbox WHERE topic = $1 AND parked_at IS NOT NULL", [neighbourTopic])
            .map { try $0.require(String.self, "last_error") }
        let published = try rig.count("SELECT count(*) FROM outbox WHERE topic = $1 AND published_at IS NOT NULL", [neighbourTopic])
        let reader = try RDKafkaConsumer(configuration: KafkaClientConfiguration(bootstrapServers: rig.bootstrapServers, properties: FaultRig.readerSettings),
                                         groupID: "neighbour-\(UUID())", topics: [neighbourTopic])
        defer { reader.close() }
        let records = try reader.read(count: good.count, timeout: .seconds(60)) + reader.read(count: 1, timeout: .seconds(3))
        var copies: [String: Int] = [:]
        var arrived: [String: [String]] = [:]
        for record in records {
            let id = record.header("ce_id") ?? ""
            copies[id, default: 0] += 1
            if copies[id] == 1 { arrived[String(decoding: record.key, as: UTF8.self), default: []].append(id) }
        }
        var expected: [String: [String]] = [:]
        for event in good { expected[event.key, default: []].append(event.id.lowercaseString) }
        let neighbourDuplicates = copies.values.reduce(0) { $0 + $1 - 1 }
        let neighbourOrder = expected.count { arrived[$0.key] != $0.value }
        FaultLine.print("hostile-neighbour", [("scale", scale.name), ("requests", String(samples.count)),
                                              ("bad_rows", String(rounds * kinds.count)), ("bad_parked", String(parked.count)),
                                              ("good_rows", String(good.count)), ("good_published", String(published)),
                                              ("good_duplicates", String(neighbourDuplicates)), ("good_order_violations", String(neighbourOrder))]
                        + counts.fields)
        #expect(parked.count == rounds * kinds.count, "\(parked)")
        for reason in ["PARTITION", "MSG_SIZE_TOO_LARGE", "RELAY_BATCH_BYTES", "created_at"] {
            #expect(parked.count { $0.contains(reason) } == rounds, "\(reason): \(parked)")
        }
        #expect(published == good.count)
        #expect(Set(copies.keys) == Set(good.map { $0.id.lowercaseString }), "only the good events, every one")
        #expect(neighbourDuplicates == 0 && neighbourOrder == 0)
        #expect(samples.allSatisfy { $0.isSuccess })
        counts.expectCompleteAndOrdered()
        #expect(counts.duplicates == 0, "nothing failed, so nothing is sent twice")
        #expect(try rig.count("SELECT count(*) FROM consumer_dead_letters WHERE octet_length(value) = $1", [1 << 20]) == rounds)
        #expect(try rig.terminate([serve]) == [0])
    }

    @discardableResult
    private func emit(_ connection: PQConnection, _ topic: String, _ key: String, partition: Int32? = nil, padding: Int = 0) throws -> UUID {
        try #require(try connection.query("""
            SELECT outbox_emit(topic => $1, key => $2, event_type => 'neighbour.event', payload => jsonb_build_object('pad', repeat('x', $3)),
                               message_partition => $4) AS id
            """, [topic, key, padding, partition]).first?.require(UUID.self, "id"))
    }
}
