import Foundation
import OutboxdConsumers
import OutboxdCore
import OutboxdHTTP
import OutboxdKafka
import OutboxdOutbox
import OutboxdPostgres
import OutboxdTasks
import Synchronization

/// `outboxd serve` (API, relay, consumers), `outboxd api`, `outboxd relay` or `outboxd consume`:
/// owns the long-lived parts of the process, and the order they start and stop in.
///
/// Start: database reachable → schema current (or migrated with `--migrate`) → Kafka (the
/// embedded cluster when configured; fail fast when no broker answers) → relay → notifier →
/// consumers (with the notification sender and reminder scheduler) → group commit writers → HTTP.
/// Stop: stop accepting and finish requests in flight → group commit writers → consumers (commit
/// their offsets, leave their groups) → sender and scheduler workers → notifier → relay publishes what is due
/// and finishes its batch → producer flushes → close.
public final class Daemon: Sendable {
    public enum Part: Sendable, Hashable {
        case api, relay, consumers
    }

    public let configuration: Configuration
    public let parts: Set<Part>
    private let logger = Logger(label: "outboxd")
    private let pool: PostgresPool
    private let running = Mutex(Running())
    private let systemd = SystemdNotifier()

    private struct Running {
        var server: MHDServer?
        var groupCommit: GroupCommitter?
        var notifier: OutboxNotifier?
        var relay: Relay?
        var consumers: [ConsumerRunner] = []
        var workers: [PeriodicWorker] = []
        var producer: RDKafkaProducer?
        var embedded: RDKafkaMockCluster?
    }

    public init(configuration: Configuration, parts: Set<Part> = [.api, .relay]) {
        self.configuration = configuration
        self.parts = parts
        pool = PostgresPool(configuration: configuration.database)
    }

    /// The bound HTTP port (after `start`).
    public var httpPort: Int { running.withLock { $0.server?.port ?? 0 } }

    /// The Kafka bootstrap address in use (the embedded cluster's when embedded).
    public var kafkaBootstrapServers: String { running.withLock { $0.producer?.bootstrapServers ?? "" } }

    public func start(migrate: Bool) throws {
        try Self.prepareDatabase(configuration, migrate: migrate, logger: logger)
        do {
            var relay: Relay?
            let consumers = parts.contains(.consumers) ? configuration.consumers.enabled : []
            let producer = parts.contains(.relay) || !consumers.isEmpty ? try startKafka() : nil
            if parts.contains(.relay), let producer {
                let started = Relay(configuration: configuration.relay, database: configuration.database, producer: producer)
                started.run()
                running.withLock { $0.relay = started }
                relay = started
            }
            var notifier: OutboxNotifier?
            if parts.contains(.api) || consumers.contains("reminders") {
                notifier = OutboxNotifier(database: configuration.database, channel: configuration.relay.channel)
                notifier!.start()
                running.withLock { $0.notifier = notifier }
            }
            if let producer, !consumers.isEmpty {
                startConsumers(consumers, producer: producer, afterOutboxCommit: { [wakeup = relay?.wakeup, notifier] in
                    wakeup?.wake()
                    notifier?.notify()
                })
            }
            if parts.contains(.api), let notifier {
                let store = TaskStore(pool: pool, topic: configuration.outboxTopic, afterCommit: { [wakeup = relay?.wakeup] in
                    wakeup?.wake()
                    notifier.notify()
                })
                var groupCommit: GroupCommitter?
                if configuration.groupCommit.enabled {
                    groupCommit = GroupCommitter(configuration: configuration.groupCommit, store: store)
                    groupCommit!.run()
                    running.withLock { $0.groupCommit = groupCommit }
                }
                let server = MHDServer(configuration: configuration.http, handler: router(relay: relay, store: store, groupCommit: groupCommit))
                try server.start()
                running.withLock { $0.server = server }
                logger.notice("listening", ["address": "\(configuration.http.host):\(server.port)"])
            }
            let partNames = parts.filter { $0 != .consumers || !consumers.isEmpty }.map { "\($0)" }.sorted().joined(separator: ",")
            logger.notice("ready", ["parts": partNames])
            systemd.notify("READY=1\nSTATUS=ready: \(partNames)")
            // A relay loop round can legitimately take two batches' delivery timeouts (the pipeline) plus a poll.
            let stuckAfter = max(systemd.watchdog ?? .zero, configuration.relay.deliveryTimeout * 2 + configuration.relay.pollInterval) + .seconds(1)
            systemd.startWatchdog(healthy: { [relay] in
                guard let relay else { return true }
                let limit = stuckAfter
                return ContinuousClock.now - relay.status.heartbeat < limit
            }, status: { [pool, relay] in
                guard let pending = try? pool.withConnection({ try $0.query(Self.pendingCount).first?.require(Int.self, "n") }) else {
                    return "database unavailable"
                }
                return "pending=\(pending)" + (relay.map { " published=\($0.status.published) failed=\($0.status.failed)" } ?? "")
            })
        } catch {
            stop()
            if let error = error as? DaemonError { throw error }
            throw DaemonError(.unavailable, "\(error)")
        }
    }

    public func stop() {
        let current = running.withLock { running -> Running in
            defer { running = Running() }
            return running
        }
        logger.notice("stopping", ["timeout": ValueParser.format(configuration.shutdownTimeout)])
        systemd.notify("STOPPING=1")
        systemd.stopWatchdog()
        current.server?.stop(timeout: configuration.shutdownTimeout)
        current.groupCommit?.stop()
        current.consumers.forEach { $0.stop() }
        current.workers.forEach { $0.stop() }
        current.notifier?.stop()
        current.relay?.stop(drainTimeout: configuration.shutdownTimeout)
        current.producer?.close(flushTimeout: configuration.shutdownTimeout)
        pool.close()
        logger.notice("stopped")
    }

    static let pendingCount = PostgresStatement(name: "outbox_pending_count", sql: """
        SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL AND parked_at IS NULL
        """)

    /// One runner per enabled consumer, plus the notification sender and the reminder scheduler.
    private func startConsumers(_ names: [String], producer: RDKafkaProducer, afterOutboxCommit: @escaping @Sendable () -> Void) {
        let settings = configuration.consumers
        let kafka = KafkaClientConfiguration(bootstrapServers: producer.bootstrapServers, properties: configuration.kafka.properties)
        for name in names {
            let handler: any EventHandler
            switch name {
            case "audit":
                handler = AuditHandler()
            case "notifications":
                handler = NotificationHandler(recipient: settings.notificationRecipient)
                // NOTIFICATION_WEBHOOK_URL was checked when the configuration loaded.
                let webhook = settings.notificationWebhook.isEmpty ? nil : try? WebhookNotificationSink(url: settings.notificationWebhook)
                let sink: any NotificationSink = webhook ?? LogNotificationSink()
                startWorker(NotificationSender(sink: sink), every: .milliseconds(500))
            default:
                handler = ReminderHandler(lead: settings.reminderLead)
                startWorker(ReminderScheduler(topic: configuration.outboxTopic, afterCommit: afterOutboxCommit), every: .seconds(1))
            }
            let runner = ConsumerRunner(handler: handler, configuration: settings, database: configuration.database,
                                        kafka: kafka, topic: configuration.outboxTopic, deadLetters: producer)
            runner.run()
            running.withLock { $0.consumers.append(runner) }
        }
    }

    private func startWorker(_ job: any PeriodicJob, every interval: Duration) {
        let worker = PeriodicWorker(job: job, database: configuration.database, interval: interval)
        worker.run()
        running.withLock { $0.workers.append(worker) }
    }

    private func startKafka() throws -> RDKafkaProducer {
        var bootstrap = configuration.kafka.bootstrapServers
        if configuration.kafka.isEmbedded {
            let cluster = try RDKafkaMockCluster(brokers: 3, topics: [(configuration.outboxTopic, configuration.kafka.embeddedPartitions),
                                                                      (configuration.outboxTopic + ".dlq", 1)])
            running.withLock { $0.embedded = cluster }
            bootstrap = cluster.bootstrapServers
            logger.notice("embedded Kafka started", ["bootstrap": bootstrap, "topic": configuration.outboxTopic])
        }
        let producer = try RDKafkaProducer(configuration: KafkaClientConfiguration(bootstrapServers: bootstrap,
                                                                                  properties: configuration.kafka.properties))
        running.withLock { $0.producer = producer }
        do {
            try producer.checkReachable(timeout: configuration.kafka.startupTimeout)
        } catch {
            throw DaemonError(.unavailable, "KAFKA_BOOTSTRAP_SERVERS: \(error)")
        }
        return producer
    }

    private func router(relay: Relay?, store: TaskStore, groupCommit: GroupCommitter?) -> Router {
        var router = Router()
        var checks: [(name: String, check: HealthRoutes.Check)] = [("database", HealthRoutes.database(pool))]
        if let relay {
            let embedded = configuration.kafka.isEmbedded
            let bootstrap = kafkaBootstrapServers
            checks.append(("kafka", { (true, JSONObject(["bootstrap_servers": .string(bootstrap), "embedded": .bool(embedded)])) }))
            checks.append(("relay", {
                let status = relay.status
                var details = JSONObject(["batches": .int(status.batches), "published": .int(status.published), "failed": .int(status.failed),
                                          "owned_shards": .array(status.ownedShards.map { .int($0) })])
                if let last = status.lastBatchAt { details.append("last_batch_at", .string(last.rfc3339)) }
                if let error = status.lastError { details.append("last_error", .string(error)) }
                return (true, details)
            }))
        }
        let consumers = running.withLock { $0.consumers }
        if !consumers.isEmpty {
            // Informational: a consumer that lags or dead-letters does not make the API unready.
            checks.append(("consumers", {
                var details = JSONObject()
                for runner in consumers {
                    let progress = runner.progress
                    details.append(runner.handler.name, .object(JSONObject([
                        "group": .string(runner.groupID), "applied": .int(progress.applied), "duplicates": .int(progress.duplicates),
                        "failures": .int(progress.failures), "dead_lettered": .int(progress.deadLettered), "errors": .int(progress.errors),
                    ])))
                }
                return (true, details)
            }))
        }
        HealthRoutes(checks: checks).register(in: &router)
        TaskRoutes(store: store, delivery: DeliveryWait(waiters: relay?.waiters, pool: pool), groupCommit: groupCommit).register(in: &router)
        return router
    }

    /// Fails fast when PostgreSQL is unreachable or the schema is not current; migrates first when asked.
    static func prepareDatabase(_ configuration: Configuration, migrate: Bool, logger: Logger) throws {
        let connection = try configuration.connectOrFail()
        defer { connection.close() }
        let migrator: Migrator
        do {
            migrator = try Migrator(directory: configuration.migrationsDirectory)
        } catch {
            throw DaemonError(.configuration, "MIGRATIONS_DIR: \(error)")
        }
        do {
            if migrate {
                try migrator.migrate(on: connection) { logger.notice("applied migration", ["version": "\($0.version)", "name": $0.name]) }
            }
            let status = try migrator.status(on: connection)
            guard status.isCurrent else {
                throw DaemonError(.configuration, Self.describe(status))
            }
        } catch let error as DaemonError {
            throw error
        } catch {
            throw DaemonError(.failure, "\(error)")
        }
    }

    static func describe(_ status: MigrationStatus) -> String {
        var problems: [String] = []
        if !status.pending.isEmpty {
            problems.append("\(status.pending.count) pending migration(s): " + status.pending.map { "\($0.version)_\($0.name)" }.joined(separator: ", "))
        }
        if !status.changed.isEmpty {
            problems.append("applied migration(s) changed since: " + status.changed.map(String.init).joined(separator: ", "))
        }
        if !status.missing.isEmpty {
            problems.append("database has migration(s) with no file: " + status.missing.map(String.init).joined(separator: ", "))
        }
        return "the database schema is not current (\(problems.joined(separator: "; "))); run `outboxd migrate` or `outboxd serve --migrate`"
    }
}
