import Foundation
import OutboxdConsumers
import OutboxdCore
import OutboxdHTTP
import OutboxdKafka
import OutboxdOutbox
import OutboxdPostgres
import OutboxdTasks

/// The daemon's effective configuration. Every property has a default; `ConfigurationKey.all`
/// lists each config key with its default, and `config/outboxd.conf` documents them.
public struct Configuration: Sendable {
    public var database = PostgresPoolConfiguration()
    public var http = HTTPServerConfiguration()
    public var kafka = KafkaSettings()
    public var relay = RelayConfiguration()
    /// `OUTBOX_DEBEZIUM_ROUTE_BY_FIELD` and `OUTBOX_DEBEZIUM_ROUTE_TOPIC_REGEX` as read, until
    /// `OUTBOX_DEBEZIUM_ROUTE_TOPIC_REPLACEMENT` (read after them) makes the route of all three.
    var debeziumRouteParts = (field: DebeziumTopicRoute.defaultField, regex: DebeziumTopicRoute.defaultRegex)
    public var groupCommit = GroupCommitConfiguration()
    public var consumers = ConsumerConfiguration()
    /// Topic of task events. Config key `OUTBOX_TOPIC`; default `task-events`.
    public var outboxTopic = "task-events"
    /// Deadline for a graceful stop. Config key `SHUTDOWN_TIMEOUT`; default 20 s.
    public var shutdownTimeout: Duration = .seconds(20)
    /// Folder of the numbered SQL migrations. Config key `MIGRATIONS_DIR`; default `migrations`.
    public var migrationsDirectory = "migrations"
    /// Config keys `LOG_LEVEL` (default `info`) and `LOG_FORMAT` (default `journald` under
    /// journald, else `text`).
    public var logging = Logger.Settings()
    public var access = AccessConfiguration()
    /// A second listener serving only `/healthz`, `/readyz` and `/metrics` (how `outboxd relay`
    /// and `outboxd consume` are scraped). Config key `METRICS_LISTEN` (host:port); default empty: none.
    public var metricsHTTP: HTTPServerConfiguration?

    public init() {}
}

/// Who may call the HTTP endpoints.
public struct AccessConfiguration: Sendable {
    /// Bearer tokens the Task API accepts; empty means no authentication. Config key `API_TOKENS`
    /// (comma-separated, secret); default empty.
    public var apiTokens: [String] = []
    /// Whether `/healthz`, `/readyz` and `/metrics` need a token too. Config key
    /// `HEALTH_METRICS_AUTH` (`open` or `token`); default `open`.
    public var healthAndMetricsNeedToken = false

    public init() {}
}

/// Where Kafka lives and what librdkafka is told.
public struct KafkaSettings: Sendable, Equatable {
    /// `embedded` starts librdkafka's in-process mock cluster; otherwise `host:port,…`.
    /// Config key `KAFKA_BOOTSTRAP_SERVERS`; default `embedded`.
    public var bootstrapServers = "embedded"
    /// Any other `KAFKA_FOO_BAR=v` becomes librdkafka's `foo.bar=v`, keyed by the librdkafka name.
    public var passthrough: [String: String] = [:]
    /// How long start-up waits for a broker to answer. Config key `KAFKA_STARTUP_TIMEOUT`; default 10 s.
    public var startupTimeout: Duration = .seconds(10)
    /// Partitions of the events topic in the embedded cluster. Config key `KAFKA_EMBEDDED_PARTITIONS`; default 6.
    public var embeddedPartitions = 6
    /// Whether missing topics are created, and how (`KAFKA_TOPIC_CREATE`, `KAFKA_TOPIC_PARTITIONS`,
    /// `KAFKA_TOPIC_REPLICATION_FACTOR`; defaults auto, 6, -1).
    public var topics = KafkaTopicPolicy()
    /// Whether a process under systemd (`INVOCATION_ID` set) may publish into the embedded cluster;
    /// without it such a process refuses to start (`Configuration.refuseEmbeddedKafkaUnderSystemd`).
    /// Config key `KAFKA_ALLOW_EMBEDDED` (a flag: yes or no); default `no`.
    public var allowEmbedded = false

    public init() {}

    /// librdkafka properties with the config keys they came from.
    public var properties: [(name: String, value: String, key: String)] {
        passthrough.sorted { $0.key < $1.key }.map { ($0.key, $0.value, "KAFKA_" + $0.key.uppercased().replacingOccurrences(of: ".", with: "_")) }
    }

    public var isEmbedded: Bool { bootstrapServers == "embedded" }
}
