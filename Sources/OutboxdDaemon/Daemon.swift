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
/// consumers (with the notification sender and reminder scheduler) → group commit writers →
/// delivery watch (`Prefer: wait`) → HTTP.
/// Stop: answer requests waiting for a delivery (202) → stop accepting and finish requests in flight → group commit writers → consumers (commit
/// their offsets, leave their groups) → sender and scheduler workers → notifier → relay publishes what is due
/// and finishes its batch → producer flushes → close.
public final class Daemon: Sendable {
    public enum Part: Sendable, Hashable {
        case api, relay, consumers
    }

    public let configuration: Configuration
    public let parts: Set<Part>
    private let logger = Logger(label: "outboxd")
    let pool: PostgresPool
    let httpMetrics = HTTPMetrics()
    let deliveryWaitMetrics = DeliveryWatch.Metrics()
    let running = Mutex(Running())
    private let systemd = SystemdNotifier()
    /// Called when a part ends by itself (see `StopRequest`).
    private let onFailure: @Sendable (String) -> Void

    struct Running {
        var server: MHDServer?
        var metricsServer: MHDServer?
        var groupCommit: GroupCommitter?
        var notifier: OutboxNotifier?
        /// NOTIFY `<RELAY_CHANNEL>_published` after the relay's batches (for `Prefer: wait` elsewhere).
        var publishedNotifier: OutboxNotifier?
        var deliveryWatch: DeliveryWatch?
        var relay: Relay?
        var consumers: [ConsumerRunner] = []
        var workers: [PeriodicWorker] = []
        var producer: RDKafkaProducer?
        var embedded: RDKafkaMockCluster?
    }

    public init(configuration: Configuration, parts: Set<Part> = [.api, .relay], onFailure: @escaping @Sendable (String) -> Void = { _ in }) {
        self.configuration = configuration
        self.parts = parts
        self.onFailure = onFailure
        pool = PostgresPool(configuration: configuration.database)
    }

    /// The bound HTTP port (after `start`).
    public var httpPort: Int { running.withLock { $0.server?.port ?? 0 } }

    /// The bound port of the `METRICS_LISTEN` listener (after `start`; 0 without one).
    public var metricsPort: Int { running.withLock { $0.metricsServer?.port ?? 0 } }

    /// The running HTTP listeners by name (`api`, `metrics`).
    var httpServers: [(name: String, server: MHDServer)] {
        running.withLock { running in
            [("api", running.server), ("metrics", running.metricsServer)].compactMap { name, server in server.map { (name, $0) } }
        }
    }

    /// The Kafka bootstrap address in use (the embedded cluster's when embedded).
    public var kafkaBootstrapServers: String { running.withLock { $0.producer?.bootstrapServers ?? "" } }

    public func start(migrate: Bool) throws {
        try Self.prepareDatabase(configuration, migrate: migrate, logger: logger)
        do {
            var relay: Relay?
            let consumers = parts.contains(.consumers) ? configuration.consumers.enabled : []
            let producer = parts.contains(.relay) || !consumers.isEmpty ? try startKafka() : nil
            if parts.contains(.relay), let producer {
                let published = OutboxNotifier(database: configuration.database, channel: DeliveryWatch.publishedChannel(of: configuration.relay.channel),
                                               window: .milliseconds(5))
                let started = Relay(configuration: configuration.relay, database: configuration.database, producer: producer, onFailure: onFailure,
                                    afterPublished: { published.notify() })
                do {
                    try started.checkShards()
                } catch let error as RelayShardsError {
                    throw DaemonError(.configuration, error.description)
                }
                published.start()
                running.withLock { $0.publishedNotifier = published }
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
            if parts.contains(.api) || configuration.metricsHTTP != nil {
                let http = parts.contains(.api) ? configuration.http.maxConnections : 0
                try OpenFilesLimit.ensure(http + (configuration.metricsHTTP?.maxConnections ?? 0) + OpenFilesLimit.reserve,
                                          key: parts.contains(.api) ? "HTTP_MAX_CONNECTIONS" : "METRICS_LISTEN")
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
                var router = operationsRouter(relay: relay)
                let watch = DeliveryWatch(relayWaiters: relay?.waiters, database: configuration.database, channel: configuration.relay.channel,
                                          metrics: deliveryWaitMetrics)
                watch.start()
                running.withLock { $0.deliveryWatch = watch }
                TaskRoutes(store: store, delivery: watch, groupCommit: groupCommit).register(in: &router)
                let server = MHDServer(configuration: configuration.http, handler: router)
                try server.start()
                running.withLock { $0.server = server }
                logger.notice("listening", ["address": "\(configuration.http.host):\(server.port)"])
            }
            if let metricsHTTP = configuration.metricsHTTP {
                let server = MHDServer(configuration: metricsHTTP, handler: operationsRouter(relay: relay), logger: Logger(label: "metrics-http"))
                try server.start()
                running.withLock { $0.metricsServer = server }
                logger.notice("metrics listening", ["address": "\(metricsHTTP.host):\(server.port)"])
            }
            let partNames = parts.filter { $0 != .consumers || !consumers.isEmpty }.map { "\($0)" }.sorted().joined(separator: ",")
            logger.notice("ready", ["parts": partNames])
            systemd.notify("READY=1\nSTATUS=ready: \(partNames)")
            // A relay loop round can legitimately take two batches' delivery timeouts (the pipeline) plus a poll.
            let stuckAfter = max(systemd.watchdog ?? .zero, configuration.relay.deliveryTimeout * 2 + configuration.relay.pollInterval) + .seconds(1)
            // A handler legitimately waits for PostgreSQL (a lock, a slow statement); one that runs
            // this long makes no progress. A server at its connection limit is full, not stuck.
            let handlerStuckAfter = max(systemd.watchdog ?? .zero, .seconds(60))
            systemd.startWatchdog(problem: { [self, relay] in
                let now = ContinuousClock.now
                if let relay {
                    let quiet = now - relay.status.heartbeat
                    if quiet >= stuckAfter { return "relay loop stuck for \(ValueParser.format(quiet))" }
                }
                for (name, server) in httpServers {
                    if let stuck = server.status.stuck(now: now, loopStuckAfter: .seconds(10), handlerStuckAfter: handlerStuckAfter) {
                        return "\(name) listener: \(stuck)"
                    }
                }
                return nil
            }, status: { [pool, relay] in
                guard let pending = try? pool.withConnection(OutboxInspection.pendingCount(on:)) else {
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
        let deadline = ContinuousClock.now + configuration.shutdownTimeout
        logger.notice("stopping", ["timeout": ValueParser.format(configuration.shutdownTimeout)])
        systemd.notify("STOPPING=1")
        systemd.stopWatchdog()
        // Requests waiting for a delivery report are answered now (202), so they never hold the stop.
        current.deliveryWatch?.stop()
        current.server?.stop(timeout: configuration.shutdownTimeout)
        current.metricsServer?.stop(timeout: .seconds(1))
        current.groupCommit?.stop()
        current.consumers.forEach { $0.stop() }
        current.workers.forEach { $0.stop() }
        current.notifier?.stop()
        // The relay and the producer share what is left of SHUTDOWN_TIMEOUT.
        current.relay?.stop(drainTimeout: max(deadline - ContinuousClock.now, .zero))
        current.publishedNotifier?.stop()
        current.producer?.close(flushTimeout: max(deadline - ContinuousClock.now, .milliseconds(100)))
        pool.close()
        logger.notice("stopped")
    }

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
                                        kafka: kafka, topic: configuration.outboxTopic, deadLetters: producer, onFailure: onFailure)
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
                                                                                  properties: configuration.kafka.properties),
                                           messageTimeout: configuration.relay.deliveryTimeout, topicPolicy: configuration.kafka.topics)
        running.withLock { $0.producer = producer }
        do {
            try producer.checkReachable(timeout: configuration.kafka.startupTimeout)
        } catch {
            throw DaemonError(.unavailable, "KAFKA_BOOTSTRAP_SERVERS: \(error)")
        }
        try provisionTopics(on: producer)
        return producer
    }

    /// The events topic and its dead-letter topic exist before any part uses them (created by
    /// `KAFKA_TOPIC_CREATE=auto`), so consumers subscribe to a topic that is there.
    private func provisionTopics(on producer: RDKafkaProducer) throws {
        let topics: Set<String> = [configuration.outboxTopic, configuration.outboxTopic + ".dlq"]
        let refused: [String: KafkaError]
        do {
            refused = try producer.provisionTopics(topics, timeout: configuration.kafka.startupTimeout)
        } catch {
            throw DaemonError(.unavailable, "KAFKA_BOOTSTRAP_SERVERS: cannot check topics \(topics.sorted().joined(separator: ", ")): \(error)")
        }
        guard refused.isEmpty else {
            let missing = refused.keys.sorted()
            let why = configuration.kafka.topics.create
                ? refused.sorted { $0.key < $1.key }.map(\.value.description).joined(separator: "; ")
                : "set KAFKA_TOPIC_CREATE=auto, or create \(missing.count == 1 ? "it" : "them") (e.g. kafka-topics.sh --create --topic \(missing[0]))"
            throw DaemonError(.configuration, "OUTBOX_TOPIC: topic(s) \(missing.joined(separator: ", ")) missing in Kafka: \(why)")
        }
    }

    /// Fails fast when PostgreSQL is unreachable or the schema is not current; migrates first when asked.
    static func prepareDatabase(_ configuration: Configuration, migrate: Bool, logger: Logger) throws {
        let connection = try configuration.connectOrFail()
        defer { connection.close() }
        let migrator: Migrator
        do {
            migrator = try Migrator(directory: configuration.migrationsDirectoryInUse)
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
