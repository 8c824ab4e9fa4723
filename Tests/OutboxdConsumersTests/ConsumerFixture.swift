import Foundation
import OutboxdConsumers
import OutboxdCore
import OutboxdKafka
import OutboxdOutbox
import OutboxdPostgres
import OutboxdTasks
import OutboxdTestSupport

/// PostgreSQL, the mock cluster, a relay publishing the outbox, and consumers reading it back.
final class ConsumerFixture {
    let database: TestDatabase
    let kafka: RDKafkaMockCluster
    let producer: RDKafkaProducer
    let relay: Relay
    let store: TaskStore
    let topic = "task-events"
    var runners: [ConsumerRunner] = []
    var configuration = ConsumerConfiguration()
    private var walSource: WalSource?

    /// `source: .wal`: the relay streams a slot of its own and polls hourly, and the task store
    /// does not wake it, so every event reaches the consumers because the stream heard its commit.
    init(source: RelaySource = .poll) throws {
        database = try TestDatabase.create()
        kafka = try RDKafkaMockCluster(brokers: 3, topics: [(topic, 4), (topic + ".dlq", 1)])
        producer = try RDKafkaProducer(configuration: KafkaClientConfiguration(bootstrapServers: kafka.bootstrapServers))
        var relayConfiguration = RelayConfiguration()
        relayConfiguration.pollInterval = source == .wal ? .seconds(3600) : .milliseconds(50)
        relayConfiguration.source = source
        relayConfiguration.walSlot = "outboxd_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        relay = Relay(configuration: relayConfiguration, database: PostgresPoolConfiguration(conninfo: database.url), producer: producer)
        let wakeup = relay.wakeup
        store = TaskStore(pool: database.pool(), topic: topic, afterCommit: { if source == .poll { wakeup.wake() } })
        configuration.groupPrefix = "test-\(UUID())-"
        configuration.retryBackoff = .milliseconds(10)
        configuration.maxAttempts = 3
        relay.run()
        if source == .wal {
            let walSource = WalSource(beside: relay, database: PostgresPoolConfiguration(conninfo: database.url))
            self.walSource = walSource
            walSource.run()
            try waitUntil("the WAL source streams", timeout: .seconds(120)) { walSource.status.phase == .streaming }
        }
    }

    /// A short session timeout: the mock cluster's group coordinator waits up to it for members when a group rebalances.
    var kafkaConfiguration: KafkaClientConfiguration {
        KafkaClientConfiguration(bootstrapServers: kafka.bootstrapServers, properties: [("session.timeout.ms", "6000", "test"), ("heartbeat.interval.ms", "500", "test")])
    }
    var databaseConfiguration: PostgresPoolConfiguration { PostgresPoolConfiguration(conninfo: database.url) }

    /// `deadLetters`: the producer the runner writes dead letters with (the relay's by default).
    @discardableResult
    func start(_ handler: any EventHandler, deadLetters: RDKafkaProducer? = nil) -> ConsumerRunner {
        let runner = runner(handler, deadLetters: deadLetters)
        runner.run()
        runners.append(runner)
        return runner
    }

    /// A runner not started, for tests that hand it batches themselves.
    func runner(_ handler: any EventHandler, deadLetters: RDKafkaProducer? = nil) -> ConsumerRunner {
        ConsumerRunner(handler: handler, configuration: configuration, database: databaseConfiguration,
                       kafka: kafkaConfiguration, topic: topic, deadLetters: deadLetters ?? producer)
    }

    func create(_ title: String, description: String? = nil, dueAt: Timestamp? = nil) throws -> TaskRecord {
        guard case .created(let task, _) = try store.create(NewTask(title: title, description: description, dueAt: dueAt), idempotencyKey: nil) else {
            throw HTTPTestError("not created")
        }
        return task
    }

    func count(_ table: String, where condition: String = "true", _ parameters: [(any PostgresParameter)?] = []) throws -> Int {
        try database.count(table, where: condition, parameters)
    }

    /// Records of the dead-letter topic.
    func deadLetters(_ count: Int) throws -> [KafkaRecord] {
        let consumer = try RDKafkaConsumer(configuration: kafkaConfiguration, groupID: "dlq-\(UUID())", topics: [topic + ".dlq"])
        return try consumer.read(count: count, timeout: .seconds(30))
    }

    deinit {
        runners.forEach { $0.stop() }
        walSource?.stop(deadline: .now + .seconds(5))
        relay.stop()
        producer.close(flushTimeout: .seconds(1))
        database.drop()
    }
}
