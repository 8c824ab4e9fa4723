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
/// owns the long-lived parts of the process, and the order they start and stop in: each part is a
/// `Worker` of one `WorkerGroup`, started in this order and stopped in the reverse one under one
/// `SHUTDOWN_TIMEOUT` deadline.
///
/// Start: database reachable → schema current (or migrated with `--migrate`) → Kafka producer (the
/// embedded cluster when configured; fail fast when no broker answers) → published-notifier →
/// relay → notifier → consumers (each with its notification sender or reminder scheduler) →
/// outbox purge → group commit writers → metrics listener → API listener → delivery watch
/// (`Prefer: wait`) → systemd watchdog and status.
/// Stop (`STOPPING=1`, then the reverse): watchdog → requests waiting for a delivery answered (202)
/// → API listener stops accepting and finishes requests in flight → metrics listener → group
/// commit writers → purge → consumers (commit their offsets, leave their groups) and their workers
/// → notifier → relay publishes what is due and finishes its batch → published-notifier →
/// producer flushes → pool closed.
/// A part that ends by itself while serving (the relay after a fatal producer error, a consumer
/// that cannot start) makes `/readyz` answer 503 and calls `onFailure` (exit 75).
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
    let groupCommitMetrics = GroupCommitMetrics()
    let running = Mutex(Running())
    private let systemd: SystemdNotifier
    /// Every part, in start order.
    private let group: WorkerGroup
    /// The part that ended by itself, if one did (then not ready).
    var failedPart: String? { group.endedWorker }

    /// The parts started, in start order (each a `Worker` of the group).
    var partNames: [String] { group.names }

    struct Running {
        var server: MHDServer?
        var metricsServer: MHDServer?
        var relay: Relay?
        var walSource: WalSource?
        var consumers: [ConsumerRunner] = []
        var producer: RDKafkaProducer?
        var embedded: RDKafkaMockCluster?
        var stopped = false
    }

    /// `onFailure` is called once, with the reason, when a part ends by itself (see `StopRequest`).
    public init(configuration: Configuration, parts: Set<Part> = [.api, .relay], onFailure: @escaping @Sendable (String) -> Void = { _ in }) {
        self.configuration = configuration
        self.parts = parts
        pool = PostgresPool(configuration: configuration.database)
        let systemd = SystemdNotifier()
        self.systemd = systemd
        group = WorkerGroup(whenAWorkerEnds: { [systemd] reason in
            systemd.notify("STATUS=failed: \(reason.prefix(200))")
            onFailure(reason)
        })
    }

    /// The bound HTTP port (after `start`).
    public var httpPort: Int { running.withLock { $0.server?.port ?? 0 } }

    /// The routes of the API listener (`GET /tasks/{id}`, …; after `start`, empty without one).
    public var apiRoutes: [String] { running.withLock { ($0.server?.handler as? Router)?.routes ?? [] } }

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
                                               window: .milliseconds(5), name: "published-notifier")
                let worker = Relay(configuration: try Self.relayConfiguration(configuration), database: configuration.database, producer: producer,
                                   afterPublished: { published.notify() })
                do {
                    try worker.checkShards()
                    try worker.checkSource()
                } catch let error as RelayShardsError {
                    throw DaemonError(.configuration, error.description)
                } catch let error as RelaySourceError {
                    throw DaemonError(.configuration, error.description)
                }
                let walCheck = configuration.relay.source == .wal ? try WalSource.check(database: configuration.database) : nil
                if let problem = walCheck?.problem {
                    throw DaemonError(.configuration, "RELAY_SOURCE=wal: \(problem)")
                }
                try group.start(published)
                try group.start(worker)
                running.withLock { $0.relay = worker }
                relay = worker
                if let walCheck {
                    if walCheck.keepsWALWithoutLimit {
                        logger.warning("max_slot_wal_keep_size is unlimited: a replication slot nobody reads keeps WAL until the disk is full; set a limit (a slot lost to it costs rows latency, never an event; events of outbox_emit_message not yet delivered are lost with it)",
                                       ["slot": configuration.relay.walSlot])
                    }
                    let source = WalSource(beside: worker, database: configuration.database)
                    try group.start(source)
                    running.withLock { $0.walSource = source }
                }
            }
            var notifier: OutboxNotifier?
            if parts.contains(.api) || consumers.contains("reminders") {
                notifier = OutboxNotifier(database: configuration.database, channel: configuration.relay.channel)
                try group.start(notifier!)
            }
            if let producer, !consumers.isEmpty {
                try startConsumers(consumers, producer: producer, afterOutboxCommit: { [wakeup = relay?.wakeup, notifier] in
                    wakeup?.wake()
                    notifier?.notify()
                })
            }
            if parts.contains(.relay) {
                let purge = OutboxPurge.worker(for: configuration.relay, database: configuration.database)
                try group.start(purge)
            }
            if parts.contains(.api) || configuration.metricsHTTP != nil {
                let http = parts.contains(.api) ? configuration.http.maxConnections : 0
                try OpenFilesLimit.ensure(http + (configuration.metricsHTTP?.maxConnections ?? 0) + OpenFilesLimit.reserve,
                                          key: parts.contains(.api) ? "HTTP_MAX_CONNECTIONS" : "METRICS_LISTEN")
            }
            var api: (store: TaskStore, groupCommit: GroupCommitter?)?
            if parts.contains(.api), let notifier {
                let store = TaskStore(pool: pool, topic: configuration.outboxTopic, afterCommit: { [wakeup = relay?.wakeup] in
                    wakeup?.wake()
                    notifier.notify()
                })
                var groupCommit: GroupCommitter?
                if configuration.groupCommit.enabled {
                    groupCommit = GroupCommitter(configuration: configuration.groupCommit, store: store, metrics: groupCommitMetrics)
                    try group.start(groupCommit!)
                }
                api = (store, groupCommit)
            }
            if let metricsHTTP = configuration.metricsHTTP {
                let server = MHDServer(configuration: metricsHTTP, handler: operationsRouter(relay: relay), logger: Logger(label: "metrics-http"))
                try group.start(HTTPListenerWorker(name: "metrics-http", server: server, longestStop: .seconds(1)))
                running.withLock { $0.metricsServer = server }
                logger.notice("metrics listening", ["address": "\(metricsHTTP.host):\(server.port)"])
            }
            if let api {
                var router = operationsRouter(relay: relay)
                // Started after the listener, stopped before it: waiting requests are answered (202) first.
                let watch = DeliveryWatch(relayWaiters: relay?.waiters, database: configuration.database, channel: configuration.relay.channel,
                                          metrics: deliveryWaitMetrics)
                TaskRoutes(store: api.store, delivery: watch, groupCommit: api.groupCommit).register(in: &router)
                registerAPIDocument(in: &router)
                let server = MHDServer(configuration: configuration.http, handler: router)
                try group.start(HTTPListenerWorker(name: "http", server: server))
                running.withLock { $0.server = server }
                try group.start(watch)
                logger.notice("listening", ["address": "\(configuration.http.host):\(server.port)"])
            }
            let partNames = parts.filter { $0 != .consumers || !consumers.isEmpty }.map { "\($0)" }.sorted().joined(separator: ",")
            try group.start(watchdog(relay: relay))
            if let failed = failedPart { throw DaemonError(.partFailed, "\(failed) ended while starting (the log above says why)") }
            logger.notice("ready", ["parts": partNames])
            systemd.notify("READY=1\nSTATUS=ready: \(partNames)")
        } catch {
            stop()
            if let error = error as? DaemonError { throw error }
            throw DaemonError(.unavailable, "\(error)")
        }
    }

    /// systemd's watchdog and status threads (none unless run under systemd).
    private func watchdog(relay: Relay?) -> [any Worker] {
        // A relay loop round can legitimately take two batches' delivery timeouts (the pipeline) plus a poll.
        let stuckAfter = max(systemd.watchdog ?? .zero, configuration.relay.deliveryTimeout * 2 + configuration.relay.pollInterval) + .seconds(1)
        // A handler legitimately waits for PostgreSQL (a lock, a slow statement); one that runs
        // this long makes no progress. A server at its connection limit is full, not stuck.
        let handlerStuckAfter = max(systemd.watchdog ?? .zero, .seconds(60))
        return systemd.watchdogWorkers(problem: { [self, relay] in
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
    }

    /// Stops every part in the reverse of the start order, all within `SHUTDOWN_TIMEOUT`; a second call does nothing.
    public func stop() {
        let wasRunning = running.withLock { running -> Bool in
            defer { running.stopped = true }
            return !running.stopped
        }
        guard wasRunning else { return }
        logger.notice("stopping", ["timeout": ValueParser.format(configuration.shutdownTimeout)])
        systemd.notify("STOPPING=1")
        group.stop(timeout: configuration.shutdownTimeout)
        pool.close()
        logger.notice("stopped")
    }

    /// One runner per enabled consumer, each followed by its notification sender or reminder scheduler.
    private func startConsumers(_ names: [String], producer: RDKafkaProducer, afterOutboxCommit: @escaping @Sendable () -> Void) throws {
        let settings = configuration.consumers
        let kafka = configuration.kafkaClient(bootstrapServers: producer.bootstrapServers)
        let metrics = ConsumerMetrics()
        for name in names {
            let handler: any EventHandler
            var job: (any PeriodicJob, Duration)?
            switch name {
            case "audit":
                handler = AuditHandler()
            case "notifications":
                handler = NotificationHandler(recipient: settings.notificationRecipient)
                // NOTIFICATION_WEBHOOK_URL was checked when the configuration loaded.
                let webhook = settings.notificationWebhook.isEmpty ? nil : try? WebhookNotificationSink(url: settings.notificationWebhook)
                let sink: any NotificationSink = webhook ?? LogNotificationSink()
                job = (NotificationSender(sink: sink), .milliseconds(500))
            default:
                handler = ReminderHandler(lead: settings.reminderLead)
                job = (ReminderScheduler(topic: configuration.outboxTopic, afterCommit: afterOutboxCommit), .seconds(1))
            }
            if let (job, interval) = job {
                try group.start(PeriodicWorker(job: job, database: configuration.database, interval: interval))
            }
            let runner = ConsumerRunner(handler: handler, configuration: settings, database: configuration.database,
                                        kafka: kafka, topic: configuration.outboxTopic, deadLetters: producer, metrics: metrics)
            try group.start(runner)
            running.withLock { $0.consumers.append(runner) }
        }
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
        let producer: RDKafkaProducer
        do {
            producer = try RDKafkaProducer(configuration: configuration.kafkaClient(bootstrapServers: bootstrap),
                                           messageTimeout: configuration.relay.deliveryTimeout, topicPolicy: configuration.kafka.topics)
        } catch let error as KafkaError {
            // librdkafka refused the properties (checked when they loaded; this is the backstop): no restart mends that.
            throw DaemonError(.configuration, "KAFKA_*: the producer cannot be made: \(Redaction.excerpt(error.message, limit: 200))")
        }
        running.withLock { $0.producer = producer }
        try group.start(ProducerWorker(producer: producer, othersLeftRunning: { [group] in !group.overran.isEmpty }))
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

    /// The relay's settings with what the database tells: in the Debezium shape, the columns of
    /// `outboxd_debezium.outbox`, which its options must name as they are (exit 78 otherwise,
    /// where Debezium would stop on its first record).
    static func relayConfiguration(_ configuration: Configuration) throws -> RelayConfiguration {
        var relay = configuration.relay
        guard relay.format.shape == .debezium else { return relay }
        let connection = try configuration.database.connect()
        defer { connection.close() }
        relay.format.debeziumRouter.columns = try DebeziumColumn.load(connection)
        if let problem = relay.format.debeziumRouter.problem() {
            throw DaemonError(.configuration, "\(problem.key): \(problem.message)")
        }
        return relay
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
