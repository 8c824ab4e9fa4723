import Foundation
import OutboxdKafka
import OutboxdPostgres
import OutboxdTestSupport
import Testing

/// `outboxd consume` as a process of its own, on a Kafka cluster the test owns.
@Suite struct ConsumeProcessTests {
    let topic = "task-events"

    /// Issue #15's input (max.poll.interval.ms below session.timeout.ms, which only a consumer
    /// refuses) once let `consume` start and exit 75 when its consumer could not be made, so
    /// systemd restarted it forever. Issue #28: the settings' check makes a consumer of them as
    /// start-up would, so `check-config` and `consume` both refuse them (78) before anything
    /// starts. (A consumer that cannot start while serving still stops the process:
    /// `DaemonLifecycleTests.aConsumerThatCannotStartStopsTheProcess`.)
    @Test func settingsOnlyAConsumerRefusesExit78BeforeAnythingStarts() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try RDKafkaMockCluster(brokers: 1, topics: [(topic, 1), (topic + ".dlq", 1)])
        for command in [["consume", "--only", "audit"], ["check-config"]] {
            let process = try DaemonProcess(arguments: command, environment: [
                "DATABASE_URL": database.url, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrapServers,
                "KAFKA_SESSION_TIMEOUT_MS": "60000", "KAFKA_MAX_POLL_INTERVAL_MS": "10000",
            ])
            #expect(try process.waitForExit() == 78, "\(process.output)")
            #expect(process.output.contains("KAFKA_MAX_POLL_INTERVAL_MS: librdkafka's consumer refuses max.poll.interval.ms"), "\(process.output)")
            #expect(!process.output.contains("consuming"))
        }
    }

    /// G5: kill -9 of the consumer after its effects committed but before any offset commit
    /// (the auto-commit interval is a minute): the restarted consumer reads every event again and
    /// applies none of them twice.
    @Test func killedConsumerAppliesEachEventOnce() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try RDKafkaMockCluster(brokers: 3, topics: [(topic, 4), (topic + ".dlq", 1)])
        let total = 50
        try database.connect().executeScript("""
            WITH t AS (INSERT INTO tasks (title) SELECT 'consumed ' || n FROM generate_series(1, \(total)) n RETURNING tasks AS task)
            INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload)
            SELECT 'task', (t.task).id::text, 'task.created', 'task-events',
                   outboxd_task_event(t.task, gen_random_uuid(), 'task.created', (t.task).created_at) FROM t
            """)
        // The payload's event_id must be the row's: rewrite it from the row.
        try database.connect().executeScript("UPDATE outbox SET payload = jsonb_set(payload, '{event_id}', to_jsonb(event_id::text))")
        let environment = ["DATABASE_URL": database.url, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrapServers,
                           "KAFKA_AUTO_COMMIT_INTERVAL_MS": "60000", "KAFKA_SESSION_TIMEOUT_MS": "6000", "LOG_LEVEL": "debug"]
        let relay = try DaemonProcess(arguments: ["relay"], environment: environment)
        try waitUntil("the relay published everything") { try database.count("outbox", where: "published_at IS NULL") == 0 }

        let first = try DaemonProcess(arguments: ["consume", "--only", "audit"], environment: environment)
        try waitUntil("every event is audited") { try database.count("audit_log") == total }
        first.signal(SIGKILL)
        #expect(try first.waitForExit() == 128 + SIGKILL)

        let second = try DaemonProcess(arguments: ["consume", "--only", "audit"], environment: environment)
        try waitUntil("the restarted consumer saw every event again", timeout: .seconds(90)) {
            second.output.components(separatedBy: "event already applied").count - 1 == total
        }
        #expect(try database.count("audit_log") == total)
        #expect(try database.count("inbox", where: "consumer = 'audit'") == total)
        second.signal(SIGTERM)
        relay.signal(SIGTERM)
        #expect(try second.waitForExit() == 0)
        #expect(try relay.waitForExit() == 0)
    }

    @Test func consumeRefusesAnUnknownConsumer() throws {
        let consume = try DaemonProcess(arguments: ["consume", "--only", "audit,billing"], environment: ["DATABASE_URL": "postgresql://127.0.0.1:1/x"])
        #expect(try consume.waitForExit() == 78)
        #expect(consume.output.contains("CONSUMERS: \"billing\" is not a consumer; use some of audit,notifications,reminders or none"))
    }
}
