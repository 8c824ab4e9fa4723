import OutboxdConsumers
import OutboxdCore
import OutboxdHTTP
import OutboxdKafka
import OutboxdOutbox

/// One documented config key: its default, whether it is secret, and how a value is applied.
public struct ConfigurationKey: Sendable {
    public let name: String
    /// The default as it would be written in the config file.
    public let defaultValue: String
    public let summary: String
    public let isSecret: Bool
    let apply: @Sendable (inout Configuration, String) throws -> Void

    init(_ name: String, default defaultValue: String, secret: Bool = false, _ summary: String,
         apply: @escaping @Sendable (inout Configuration, String) throws -> Void) {
        self.name = name
        self.defaultValue = defaultValue
        self.summary = summary
        self.isSecret = secret
        self.apply = apply
    }

    /// Every key the daemon knows, in the order `check-config` prints them.
    public static let all: [ConfigurationKey] = [
        ConfigurationKey("DATABASE_URL", default: "", secret: true,
                         "libpq conninfo or URI; empty uses libpq's PG* variables") { config, value in
            config.database.conninfo = try ValueParser.conninfo(value, key: "DATABASE_URL")
        },
        ConfigurationKey("DATABASE_URL_FILE", default: "", "file holding DATABASE_URL (mode 600; relative: a systemd credential in $CREDENTIALS_DIRECTORY); excludes DATABASE_URL") { _, _ in },
        ConfigurationKey("DATABASE_POOL_SIZE", default: "16", "most API connections to PostgreSQL") { config, value in
            config.database.maxConnections = try ValueParser.integer(value, key: "DATABASE_POOL_SIZE", in: 1...1000)
        },
        ConfigurationKey("DATABASE_CONNECT_TIMEOUT", default: "5s", "libpq connect timeout (whole seconds, at least 2s)") { config, value in
            config.database.connectTimeout = try ValueParser.duration(value, key: "DATABASE_CONNECT_TIMEOUT", in: .seconds(2)...(.seconds(300)))
        },
        ConfigurationKey("DATABASE_ACQUIRE_TIMEOUT", default: "2s", "how long a request waits for a free connection before 503") { config, value in
            config.database.acquireTimeout = try ValueParser.duration(value, key: "DATABASE_ACQUIRE_TIMEOUT", in: .milliseconds(1)...(.seconds(300)))
        },
        ConfigurationKey("DATABASE_STATEMENT_TIMEOUT", default: "10s", "server-side statement_timeout; 0s for none") { config, value in
            config.database.statementTimeout = try ValueParser.duration(value, key: "DATABASE_STATEMENT_TIMEOUT", in: .zero...(.seconds(3600)))
        },
        ConfigurationKey("DATABASE_KEEPALIVE_IDLE", default: "5s", "TCP keepalive of every session, both ends: silence before the first probe") { config, value in
            config.database.keepalive.idle = try ValueParser.duration(value, key: "DATABASE_KEEPALIVE_IDLE", in: .seconds(1)...(.seconds(7200)))
        },
        ConfigurationKey("DATABASE_KEEPALIVE_INTERVAL", default: "2s", "TCP keepalive: between unanswered probes") { config, value in
            config.database.keepalive.interval = try ValueParser.duration(value, key: "DATABASE_KEEPALIVE_INTERVAL", in: .seconds(1)...(.seconds(600)))
        },
        ConfigurationKey("DATABASE_KEEPALIVE_COUNT", default: "3", "TCP keepalive: unanswered probes before the session is dead (and its locks released)") { config, value in
            config.database.keepalive.count = try ValueParser.integer(value, key: "DATABASE_KEEPALIVE_COUNT", in: 1...100)
        },
        ConfigurationKey("HTTP_LISTEN", default: "127.0.0.1:8080", "host:port of the HTTP API ([::1]:8080 for IPv6; port 0 picks one)") { config, value in
            let (host, port) = try ValueParser.hostPort(value, key: "HTTP_LISTEN")
            config.http.host = host
            config.http.port = port
        },
        ConfigurationKey("HTTP_MAX_BODY_BYTES", default: "65536", "largest request body; larger gets 413") { config, value in
            config.http.maxBodyBytes = try ValueParser.integer(value, key: "HTTP_MAX_BODY_BYTES", in: 1...(64 << 20))
        },
        ConfigurationKey("HTTP_MAX_HEADER_BYTES", default: "16384", "buffer for request line and headers; larger gets 431") { config, value in
            config.http.maxHeaderBytes = try ValueParser.integer(value, key: "HTTP_MAX_HEADER_BYTES", in: 4096...(1 << 20))
        },
        ConfigurationKey("HTTP_MAX_CONNECTIONS", default: "10000", "most open HTTP connections; more are closed at once (they cost no thread)") { config, value in
            config.http.maxConnections = try ValueParser.integer(value, key: "HTTP_MAX_CONNECTIONS", in: 1...1_000_000)
        },
        ConfigurationKey("HTTP_MAX_CONNECTIONS_PER_ADDRESS", default: "256", "most open HTTP connections from one client address; 0: no limit") { config, value in
            config.http.maxConnectionsPerAddress = try ValueParser.integer(value, key: "HTTP_MAX_CONNECTIONS_PER_ADDRESS", in: 0...1_000_000)
        },
        ConfigurationKey("HTTP_WORKERS", default: "16", "threads that run request handlers; complete requests queue for them") { config, value in
            config.http.workers = try ValueParser.integer(value, key: "HTTP_WORKERS", in: 1...1024)
        },
        ConfigurationKey("HTTP_IDLE_TIMEOUT", default: "30s", "idle keep-alive connections close after this (whole seconds)") { config, value in
            config.http.idleTimeout = try ValueParser.duration(value, key: "HTTP_IDLE_TIMEOUT", in: .seconds(1)...(.seconds(3600)))
        },
        ConfigurationKey("HTTP_REQUEST_TIMEOUT", default: "30s", "a request's head and body must be complete this long after the connection opened or sent its last response") { config, value in
            config.http.requestTimeout = try ValueParser.duration(value, key: "HTTP_REQUEST_TIMEOUT", in: .seconds(1)...(.seconds(3600)))
        },
        ConfigurationKey("API_TOKENS", default: "", secret: true, "comma-separated bearer tokens the Task API accepts (each 16+ visible ASCII characters); empty: no authentication") { config, value in
            config.access.apiTokens = try ValueParser.tokens(value, key: "API_TOKENS")
        },
        ConfigurationKey("API_TOKENS_FILE", default: "", "file holding API_TOKENS (mode 600; relative: a systemd credential in $CREDENTIALS_DIRECTORY); excludes API_TOKENS") { _, _ in },
        ConfigurationKey("HEALTH_METRICS_AUTH", default: "open", "open, or token: /healthz, /readyz and /metrics need one of API_TOKENS too") { config, value in
            switch value {
            case "open": config.access.healthAndMetricsNeedToken = false
            case "token":
                guard !config.access.apiTokens.isEmpty else {
                    throw ConfigurationError(key: "HEALTH_METRICS_AUTH", "token needs API_TOKENS to hold at least one token")
                }
                config.access.healthAndMetricsNeedToken = true
            default: throw ConfigurationError(key: "HEALTH_METRICS_AUTH", "\"\(value.prefix(32))\" is not one of open, token")
            }
        },
        ConfigurationKey("METRICS_LISTEN", default: "", "host:port of a listener with only /healthz, /readyz and /metrics (for outboxd relay and consume); empty: none") { config, value in
            guard !value.isEmpty else {
                config.metricsHTTP = nil
                return
            }
            let (host, port) = try ValueParser.hostPort(value, key: "METRICS_LISTEN")
            var http = HTTPServerConfiguration()
            http.host = host
            http.port = port
            http.maxBodyBytes = 1024
            http.maxConnections = 256
            http.maxConnectionsPerAddress = 64
            http.workers = 2
            http.requestTimeout = .seconds(10)
            config.metricsHTTP = http
        },
        ConfigurationKey("GROUP_COMMIT", default: "on", "write concurrent POST /tasks (without Idempotency-Key) in shared transactions") { config, value in
            config.groupCommit.enabled = try ValueParser.flag(value, key: "GROUP_COMMIT")
        },
        ConfigurationKey("GROUP_COMMIT_MAX_BATCH", default: "128", "most tasks in one group transaction") { config, value in
            config.groupCommit.maxBatch = try ValueParser.integer(value, key: "GROUP_COMMIT_MAX_BATCH", in: 1...10_000)
        },
        ConfigurationKey("GROUP_COMMIT_WRITERS", default: "2", "group transactions in flight at once (each takes a pooled connection)") { config, value in
            config.groupCommit.writers = try ValueParser.integer(value, key: "GROUP_COMMIT_WRITERS", in: 1...64)
        },
        ConfigurationKey("GROUP_COMMIT_WINDOW", default: "0ms", "extra wait for more requests before writing a batch that is not full") { config, value in
            config.groupCommit.window = try ValueParser.duration(value, key: "GROUP_COMMIT_WINDOW", in: .zero...(.milliseconds(100)))
        },
        ConfigurationKey("GROUP_COMMIT_RETRIES", default: "2", "times a batch that failed for no row's fault (lock wait, timeout, lost connection) is sent again before 503") { config, value in
            config.groupCommit.retries = try ValueParser.integer(value, key: "GROUP_COMMIT_RETRIES", in: 0...10)
        },
        ConfigurationKey("CONSUMERS", default: "audit,notifications,reminders", "consumers serve runs (outboxd consume --only narrows it); none for no consumers") { config, value in
            config.consumers.enabled = try ValueParser.consumerList(value, key: "CONSUMERS")
        },
        ConfigurationKey("CONSUMER_MAX_ATTEMPTS", default: "5", "attempts of a failing handler before the event goes to <topic>.dlq") { config, value in
            config.consumers.maxAttempts = try ValueParser.integer(value, key: "CONSUMER_MAX_ATTEMPTS", in: 1...1000)
        },
        ConfigurationKey("CONSUMER_RETRY_BACKOFF", default: "200ms", "first wait before a failed handler retries (doubling, at most 5s)") { config, value in
            config.consumers.retryBackoff = try ValueParser.duration(value, key: "CONSUMER_RETRY_BACKOFF", in: .milliseconds(1)...(.seconds(60)))
        },
        ConfigurationKey("CONSUMER_STALL_TIMEOUT", default: "30s", "a partition with records to process and none processed this long makes /readyz 503 (never a restart)") { config, value in
            config.consumers.stallTimeout = try ValueParser.duration(value, key: "CONSUMER_STALL_TIMEOUT", in: .seconds(1)...(.seconds(3600)))
        },
        ConfigurationKey("CONSUMER_GROUP_PREFIX", default: "outboxd-", "Kafka consumer groups are <prefix><consumer>") { config, value in
            guard !value.isEmpty, value.count <= 200, value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
                throw ConfigurationError(key: "CONSUMER_GROUP_PREFIX", "\"\(value.prefix(32))\" must be 1–200 of a-z A-Z 0-9 . _ -")
            }
            config.consumers.groupPrefix = value
        },
        ConfigurationKey("REMINDER_LEAD", default: "15m", "a reminder fires this long before the task's due_at") { config, value in
            config.consumers.reminderLead = try ValueParser.duration(value, key: "REMINDER_LEAD", in: .zero...(.seconds(30 * 86400)))
        },
        ConfigurationKey("NOTIFICATION_RECIPIENT", default: "tasks@localhost", "recipient of every notification") { config, value in
            guard !value.isEmpty, value.count <= 320 else {
                throw ConfigurationError(key: "NOTIFICATION_RECIPIENT", "must be 1–320 characters")
            }
            config.consumers.notificationRecipient = value
        },
        ConfigurationKey("NOTIFICATION_WEBHOOK_URL", default: "", secret: true, "http://host:port/path to POST each notification to (retried); empty logs them; secret, since its path may carry a token") { config, value in
            if !value.isEmpty {
                do throws(WebhookNotificationSink.Failure) { _ = try WebhookNotificationSink(url: value) } catch { throw ConfigurationError(key: "NOTIFICATION_WEBHOOK_URL", error.description) }
            }
            config.consumers.notificationWebhook = value
        },
        ConfigurationKey("NOTIFICATION_WEBHOOK_URL_FILE", default: "", "file holding NOTIFICATION_WEBHOOK_URL (mode 600; relative: a systemd credential in $CREDENTIALS_DIRECTORY); excludes NOTIFICATION_WEBHOOK_URL") { _, _ in },
        ConfigurationKey("KAFKA_BOOTSTRAP_SERVERS", default: "embedded", "host:port,… of Kafka, or embedded for the in-process mock cluster") { config, value in
            guard !value.isEmpty else { throw ConfigurationError(key: "KAFKA_BOOTSTRAP_SERVERS", "must not be empty; use embedded or host:port,…") }
            config.kafka.bootstrapServers = value == "embedded" ? value : try ValueParser.brokers(value, key: "KAFKA_BOOTSTRAP_SERVERS")
        },
        ConfigurationKey("KAFKA_STARTUP_TIMEOUT", default: "10s", "start-up fails when no broker answers within this") { config, value in
            config.kafka.startupTimeout = try ValueParser.duration(value, key: "KAFKA_STARTUP_TIMEOUT", in: .milliseconds(100)...(.seconds(600)))
        },
        ConfigurationKey("KAFKA_EMBEDDED_PARTITIONS", default: "6", "partitions of the events topic in the embedded cluster") { config, value in
            config.kafka.embeddedPartitions = try ValueParser.integer(value, key: "KAFKA_EMBEDDED_PARTITIONS", in: 1...256)
        },
        ConfigurationKey("KAFKA_TOPIC_CREATE", default: "auto", "auto creates missing topics (events and dead-letter at start-up, any a row names) through the Admin API; never fails start-up (exit 78) and parks rows for them") { config, value in
            switch value {
            case "auto": config.kafka.topics.create = true
            case "never": config.kafka.topics.create = false
            default: throw ConfigurationError(key: "KAFKA_TOPIC_CREATE", "\"\(value.prefix(32))\" is not one of auto, never")
            }
        },
        ConfigurationKey("KAFKA_TOPIC_PARTITIONS", default: "6", "partitions of a topic the daemon creates") { config, value in
            config.kafka.topics.partitions = try ValueParser.integer(value, key: "KAFKA_TOPIC_PARTITIONS", in: 1...100_000)
        },
        ConfigurationKey("KAFKA_TOPIC_REPLICATION_FACTOR", default: "-1", "replication factor of a topic the daemon creates; -1 takes the broker's default.replication.factor") { config, value in
            let factor = try ValueParser.integer(value, key: "KAFKA_TOPIC_REPLICATION_FACTOR", in: -1...32767)
            guard factor != 0 else { throw ConfigurationError(key: "KAFKA_TOPIC_REPLICATION_FACTOR", "must be -1 (the broker's default) or 1–32767") }
            config.kafka.topics.replicationFactor = factor
        },
        ConfigurationKey("KAFKA_ALLOW_EMBEDDED", default: "no", "yes: serve, relay and consume use the embedded cluster also under systemd (INVOCATION_ID set), where they otherwise refuse it") { config, value in
            config.kafka.allowEmbedded = try ValueParser.flag(value, key: "KAFKA_ALLOW_EMBEDDED")
        },
        ConfigurationKey("RELAY_BATCH_SIZE", default: "500", "outbox rows claimed and produced per batch") { config, value in
            config.relay.batchSize = try ValueParser.integer(value, key: "RELAY_BATCH_SIZE", in: 1...100_000)
        },
        ConfigurationKey("RELAY_BATCH_BYTES", default: "16777216",
                         "payload bytes one claim may hold; later rows wait for the next claim, a row larger than this alone is parked") { config, value in
            config.relay.batchBytes = try ValueParser.integer(value, key: "RELAY_BATCH_BYTES", in: 65_536...1 << 30)
        },
        ConfigurationKey("RELAY_STALL_TIMEOUT", default: "30s",
                         "how long rows may be due with none delivered or parked before /readyz shows the relay stalled") { config, value in
            config.relay.stallTimeout = try ValueParser.duration(value, key: "RELAY_STALL_TIMEOUT", in: .seconds(1)...(.seconds(86_400)))
        },
        ConfigurationKey("RELAY_POLL_INTERVAL", default: "1s", "how often the relay looks for rows when nothing wakes it") { config, value in
            config.relay.pollInterval = try ValueParser.duration(value, key: "RELAY_POLL_INTERVAL", in: .milliseconds(1)...(.seconds(3600)))
        },
        ConfigurationKey("RELAY_SOURCE", default: "poll",
                         "how the relay hears of new outbox rows: poll (the API's wake-ups, NOTIFY, RELAY_POLL_INTERVAL) or wal (also every committed insert, from a logical replication slot; needs wal_level=logical and a role with REPLICATION)") { config, value in
            guard let source = RelaySource(rawValue: value) else {
                throw ConfigurationError(key: "RELAY_SOURCE", "\"\(value.prefix(32))\" is not one of poll, wal")
            }
            config.relay.source = source
        },
        ConfigurationKey("RELAY_WAL_SLOT", default: "outboxd", "with RELAY_SOURCE=wal, the logical replication slot (pgoutput; created when missing)") { config, value in
            config.relay.walSlot = try ValueParser.sqlName(value, key: "RELAY_WAL_SLOT")
        },
        ConfigurationKey("RELAY_WAL_PUBLICATION", default: "outboxd_outbox", "with RELAY_SOURCE=wal, the publication of the outbox table's new rows that the slot reads (created when missing)") { config, value in
            config.relay.walPublication = try ValueParser.sqlName(value, key: "RELAY_WAL_PUBLICATION")
        },
        ConfigurationKey("RELAY_CLAIM_LINGER", default: "10ms",
                         "under live load (claims of 16 rows or more arriving at RELAY_CLAIM_LINGER_ABOVE), the wait between claims, so they grow with the load; 0ms claims after every commit") { config, value in
            config.relay.claimLinger = try ValueParser.duration(value, key: "RELAY_CLAIM_LINGER", in: .zero...(.seconds(1)))
        },
        ConfigurationKey("RELAY_CLAIM_LINGER_ABOVE", default: "2500", "events per second from which claims linger (RELAY_CLAIM_LINGER)") { config, value in
            config.relay.claimLingerAboveRate = try ValueParser.integer(value, key: "RELAY_CLAIM_LINGER_ABOVE", in: 1...10_000_000)
        },
        ConfigurationKey("RELAY_MAX_ATTEMPTS", default: "10", "failed deliveries before an event is parked") { config, value in
            config.relay.maxAttempts = try ValueParser.integer(value, key: "RELAY_MAX_ATTEMPTS", in: 1...1000)
        },
        ConfigurationKey("RELAY_BACKOFF_BASE", default: "500ms", "first retry delay; doubles per failure, with jitter") { config, value in
            config.relay.backoffBase = try ValueParser.duration(value, key: "RELAY_BACKOFF_BASE", in: .milliseconds(1)...(.seconds(3600)))
        },
        ConfigurationKey("RELAY_BACKOFF_MAX", default: "5m", "longest retry delay") { config, value in
            config.relay.backoffMaximum = try ValueParser.duration(value, key: "RELAY_BACKOFF_MAX", in: .milliseconds(1)...(.seconds(86400)))
        },
        ConfigurationKey("RELAY_DELIVERY_TIMEOUT", default: "30s", "how long a batch waits for its delivery reports") { config, value in
            config.relay.deliveryTimeout = try ValueParser.duration(value, key: "RELAY_DELIVERY_TIMEOUT", in: .milliseconds(100)...(.seconds(3600)))
        },
        ConfigurationKey("RELAY_SHARDS", default: "1", "shards of the outbox; one relay owns each (advisory lock)") { config, value in
            config.relay.shards = try ValueParser.integer(value, key: "RELAY_SHARDS", in: 1...256)
        },
        ConfigurationKey("RELAY_TAKEOVER_INTERVAL", default: "1s", "how often a relay tries to take over shards no relay holds") { config, value in
            config.relay.takeoverInterval = try ValueParser.duration(value, key: "RELAY_TAKEOVER_INTERVAL", in: .milliseconds(10)...(.seconds(600)))
        },
        ConfigurationKey("OUTBOX_RETENTION", default: "1h", "how long published rows are kept; 0s deletes them on publish") { config, value in
            config.relay.retention = try ValueParser.duration(value, key: "OUTBOX_RETENTION", in: .zero...(.seconds(365 * 86400)))
        },
        ConfigurationKey("EVENT_SOURCE", default: "outboxd", "ce_source header of every event") { config, value in
            guard !value.isEmpty else { throw ConfigurationError(key: "EVENT_SOURCE", "must not be empty") }
            guard value.utf8.count <= maxEventSourceBytes else {
                throw ConfigurationError(key: "EVENT_SOURCE", "is \(value.utf8.count) bytes; at most \(maxEventSourceBytes) (the ce_source header of every record, which must fit librdkafka's message.max.bytes)")
            }
            config.relay.format.source = value
        },
        ConfigurationKey("OUTBOX_TOPIC_ROUTE", default: "outbox.event.{aggregate_type}", "topic of a row whose topic is empty; placeholders {aggregate_type} and {event_type}") { config, value in
            do throws(TopicRoute.Invalid) {
                config.relay.format.route = try TopicRoute(value)
            } catch {
                throw ConfigurationError(key: "OUTBOX_TOPIC_ROUTE", error.description)
            }
            // Each placeholder takes at least one character of a row's value.
            let shortest = value.replacingOccurrences(of: "{aggregate_type}", with: "a").replacingOccurrences(of: "{event_type}", with: "e").utf8.count
            guard shortest <= KafkaTopicName.maxLength else {
                throw ConfigurationError(key: "OUTBOX_TOPIC_ROUTE", "its topics would be at least \(shortest) characters, longer than a Kafka topic name's \(KafkaTopicName.maxLength); every row it routes would be parked")
            }
        },
        ConfigurationKey("OUTBOX_RECORD_SHAPE", default: "cloudevents", "Kafka record shape: cloudevents (ce_* headers) or debezium (Debezium's outbox event router: headers __debezium.context.*, id; partitioner murmur2_random)") { config, value in
            guard let shape = RecordShape(rawValue: value) else {
                throw ConfigurationError(key: "OUTBOX_RECORD_SHAPE", "\"\(value.prefix(32))\" is not one of cloudevents, debezium")
            }
            config.relay.format.shape = shape
        },
        ConfigurationKey("OUTBOX_DEBEZIUM_CONTEXT_HEADERS", default: "yes", "in the debezium shape, send Debezium 3.2+'s __debezium.context.* headers before id (its extended.headers.enabled)") { config, value in
            config.relay.format.debeziumContext.enabled = try ValueParser.flag(value, key: "OUTBOX_DEBEZIUM_CONTEXT_HEADERS")
        },
        ConfigurationKey("OUTBOX_DEBEZIUM_CONVERTER", default: "string", "in the debezium shape, write keys and values as this Kafka Connect converter did: string (StringConverter), json (JsonConverter, schemas.enable=true, its default), json-schemaless (JsonConverter, schemas.enable=false)") { config, value in
            guard let converter = DebeziumConverter(rawValue: value) else {
                throw ConfigurationError(key: "OUTBOX_DEBEZIUM_CONVERTER", "\"\(value.prefix(32))\" is not one of string, json, json-schemaless")
            }
            config.relay.format.debeziumConverter = converter
        },
        ConfigurationKey("OUTBOX_DEBEZIUM_TOMBSTONE_ON_EMPTY_PAYLOAD", default: "no", "in the debezium shape, a row without a payload is a null value under every converter (Debezium's route.tombstone.on.empty.payload); no: the converter's null") { config, value in
            config.relay.format.debeziumTombstoneOnEmptyPayload = try ValueParser.flag(value, key: "OUTBOX_DEBEZIUM_TOMBSTONE_ON_EMPTY_PAYLOAD")
        },
        ConfigurationKey("OUTBOX_DEBEZIUM_ROUTE_BY_FIELD", default: DebeziumTopicRoute.defaultField, "in the debezium shape, the column of outboxd_debezium.outbox whose value routes a row without a topic (Debezium's route.by.field)") { config, value in
            try requireDebeziumShape(config, "OUTBOX_DEBEZIUM_ROUTE_BY_FIELD", value, default: DebeziumTopicRoute.defaultField)
            config.debeziumRouteParts.field = value
        },
        ConfigurationKey("OUTBOX_DEBEZIUM_ROUTE_TOPIC_REGEX", default: DebeziumTopicRoute.defaultRegex, "in the debezium shape, a regular expression matched against the whole routed value (Debezium's route.topic.regex)") { config, value in
            try requireDebeziumShape(config, "OUTBOX_DEBEZIUM_ROUTE_TOPIC_REGEX", value, default: DebeziumTopicRoute.defaultRegex)
            config.debeziumRouteParts.regex = value
        },
        ConfigurationKey("OUTBOX_DEBEZIUM_ROUTE_TOPIC_REPLACEMENT", default: DebeziumTopicRoute.defaultReplacement, "in the debezium shape, the topic of a routed value the regex matches, with its $n and ${name} groups (Debezium's route.topic.replacement); one it does not match is its own topic") { config, value in
            try requireDebeziumShape(config, "OUTBOX_DEBEZIUM_ROUTE_TOPIC_REPLACEMENT", value, default: DebeziumTopicRoute.defaultReplacement)
            let parts = config.debeziumRouteParts
            guard parts != (DebeziumTopicRoute.defaultField, DebeziumTopicRoute.defaultRegex) || value != DebeziumTopicRoute.defaultReplacement else {
                config.relay.format.debeziumRouter.route = nil
                return
            }
            guard config.relay.format.route == .default else {
                throw ConfigurationError(key: "OUTBOX_TOPIC_ROUTE", "is set beside OUTBOX_DEBEZIUM_ROUTE_*, which route the same rows; set one or the other")
            }
            do throws(DebeziumTopicRoute.Invalid) {
                config.relay.format.debeziumRouter.route = try DebeziumTopicRoute(field: parts.field, regex: parts.regex, replacement: value)
            } catch {
                throw ConfigurationError(key: error.key, error.description)
            }
        },
        ConfigurationKey("OUTBOX_DEBEZIUM_EVENT_TIMESTAMP_FIELD", default: "", "in the debezium shape, a timestamp column of outboxd_debezium.outbox whose value is the record's timestamp (Debezium's table.field.event.timestamp); empty: the time the record is produced") { config, value in
            try requireDebeziumShape(config, "OUTBOX_DEBEZIUM_EVENT_TIMESTAMP_FIELD", value, default: "")
            guard value.isEmpty || DebeziumAdditionalField.isColumnName(value) else {
                throw ConfigurationError(key: "OUTBOX_DEBEZIUM_EVENT_TIMESTAMP_FIELD", "\"\(value.prefix(64))\" is not a column name (a-z, 0-9, _)")
            }
            config.relay.format.debeziumRouter.eventTimestampField = value.isEmpty ? nil : value
        },
        ConfigurationKey("OUTBOX_DEBEZIUM_ADDITIONAL_PLACEMENT", default: "", "in the debezium shape, columns of outboxd_debezium.outbox sent as column:header|envelope|partition[:alias], comma-separated (Debezium's table.fields.additional.placement)") { config, value in
            try requireDebeziumShape(config, "OUTBOX_DEBEZIUM_ADDITIONAL_PLACEMENT", value, default: "")
            do throws(DebeziumAdditionalField.Invalid) {
                config.relay.format.debeziumRouter.additionalFields = value.isEmpty ? [] : try DebeziumAdditionalField.parse(value)
            } catch {
                throw ConfigurationError(key: "OUTBOX_DEBEZIUM_ADDITIONAL_PLACEMENT", error.description)
            }
        },
        ConfigurationKey("OUTBOX_DEBEZIUM_EXPAND_JSON_PAYLOAD", default: "no", "in the debezium shape, a payload that is a JSON object goes as a Kafka Connect struct with the schema inferred from it (Debezium's table.expand.json.payload); needs CONSUMERS=none") { config, value in
            let expand = try ValueParser.flag(value, key: "OUTBOX_DEBEZIUM_EXPAND_JSON_PAYLOAD")
            try requireDebeziumShape(config, "OUTBOX_DEBEZIUM_EXPAND_JSON_PAYLOAD", expand ? "yes" : "no", default: "no")
            config.relay.format.debeziumRouter.expandJSONPayload = expand
        },
        ConfigurationKey("OUTBOX_DEBEZIUM_TABLE", default: "public.outbox", "in the debezium shape, the replaced connector's outbox table (schema.table), which names an envelope's schema under OUTBOX_DEBEZIUM_CONVERTER=json") { config, value in
            try requireDebeziumShape(config, "OUTBOX_DEBEZIUM_TABLE", value, default: "public.outbox")
            let parts = value.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 63 && !$0.utf8.contains(where: { $0 < 0x21 || $0 == 0x7F || $0 == UInt8(ascii: "\"") }) }) else {
                throw ConfigurationError(key: "OUTBOX_DEBEZIUM_TABLE", "is schema.table, each part 1 to 63 characters without spaces or quotes")
            }
            config.relay.format.debeziumRouter.table = value
        },
        ConfigurationKey("OUTBOX_DEBEZIUM_LOGICAL_NAME", default: "outboxd", "the __debezium.context.connectorLogicalName header: the replaced connector's topic.prefix") { config, value in
            // Debezium's topic.prefix: a Kafka topic name's characters.
            guard !value.isEmpty, value.utf8.count <= 255,
                  value.utf8.allSatisfy({ $0 < 0x80 && (Character(Unicode.Scalar($0)).isLetter || Character(Unicode.Scalar($0)).isNumber || "._-".utf8.contains($0)) })
            else {
                throw ConfigurationError(key: "OUTBOX_DEBEZIUM_LOGICAL_NAME", "must be 1 to 255 of the characters a-z A-Z 0-9 . _ - (Debezium's topic.prefix)")
            }
            config.relay.format.debeziumContext.logicalName = value
        },
        ConfigurationKey("OUTBOX_TOPIC", default: "task-events", "Kafka topic of task events") { config, value in
            config.outboxTopic = try ValueParser.topic(value, key: "OUTBOX_TOPIC")
            guard value.utf8.count + ".dlq".utf8.count <= KafkaTopicName.maxLength else {
                throw ConfigurationError(key: "OUTBOX_TOPIC", "is \(value.utf8.count) characters; at most \(KafkaTopicName.maxLength - 4), so that its dead-letter topic <topic>.dlq is a Kafka topic name too")
            }
        },
        ConfigurationKey("SHUTDOWN_TIMEOUT", default: "20s", "deadline for a graceful stop on SIGTERM") { config, value in
            config.shutdownTimeout = try ValueParser.duration(value, key: "SHUTDOWN_TIMEOUT", in: .milliseconds(100)...(.seconds(600)))
        },
        ConfigurationKey("MIGRATIONS_DIR", default: "migrations", "folder of the numbered SQL migrations") { config, value in
            guard !value.isEmpty else { throw ConfigurationError(key: "MIGRATIONS_DIR", "must not be empty") }
            guard value.utf8.count <= 4096 else { throw ConfigurationError(key: "MIGRATIONS_DIR", "is \(value.utf8.count) bytes; a path has at most 4096") }
            config.migrationsDirectory = value
        },
        ConfigurationKey("LOG_LEVEL", default: "info", "debug, info, notice, warning or error") { config, value in
            guard let level = Logger.Level.allCases.first(where: { $0.name == value }) else {
                throw ConfigurationError(key: "LOG_LEVEL", "\"\(value.prefix(32))\" is not one of debug, info, notice, warning, error")
            }
            config.logging.minimum = level
        },
        ConfigurationKey("LOG_FORMAT", default: "auto", "text, json or journald; auto picks journald when JOURNAL_STREAM is set") { config, value in
            if value == "auto" {
                config.logging.format = Logger.defaultFormat()
                return
            }
            guard let format = Logger.Format(rawValue: value) else {
                throw ConfigurationError(key: "LOG_FORMAT", "\"\(value.prefix(32))\" is not one of auto, text, json, journald")
            }
            config.logging.format = format
        },
    ]

    /// Longest `EVENT_SOURCE`, in bytes.
    static let maxEventSourceBytes = 4096

    public static func named(_ name: String) -> ConfigurationKey? {
        all.first { $0.name == name }
    }
}

/// A Debezium option set away from its default while the shape is not Debezium's: refused, since
/// it would change nothing.
private func requireDebeziumShape(_ config: Configuration, _ key: String, _ value: String, default defaultValue: String) throws(ConfigurationError) {
    guard value != defaultValue, config.relay.format.shape != .debezium else { return }
    throw ConfigurationError(key: key, "applies to OUTBOX_RECORD_SHAPE=debezium only (the shape is \(config.relay.format.shape.rawValue))")
}
