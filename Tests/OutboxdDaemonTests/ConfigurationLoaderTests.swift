import Foundation
import OutboxdOutbox
import OutboxdTestSupport
import Testing
@testable import OutboxdDaemon

@Suite struct ConfigurationLoaderTests {
    @Test func defaultsWithoutAnySource() throws {
        let loader = try ConfigurationLoader(fileText: nil, environment: [:], flags: [])
        let config = loader.configuration
        #expect(config.http.host == "127.0.0.1")
        #expect(config.http.port == 8080)
        #expect(config.http.maxBodyBytes == 65536)
        #expect(config.database.conninfo == "")
        #expect(config.kafka.bootstrapServers == "embedded")
        #expect(config.outboxTopic == "task-events")
        #expect(config.shutdownTimeout == .seconds(20))
        #expect(loader.settings.allSatisfy { $0.source == .defaultValue })
    }

    @Test func fileThenEnvironmentThenFlagsOverride() throws {
        let file = """
            # comment
            HTTP_LISTEN=0.0.0.0:9000
            HTTP_MAX_BODY_BYTES=1000
            OUTBOX_TOPIC=from-file
            """
        let loader = try ConfigurationLoader(
            fileText: file, fileName: "test.conf",
            environment: ["HTTP_MAX_BODY_BYTES": "2000", "OUTBOX_TOPIC": "from-env", "PATH": "/bin"],
            flags: [(key: "OUTBOX_TOPIC", value: "from-flag")])
        #expect(loader.configuration.http.host == "0.0.0.0")
        #expect(loader.configuration.http.port == 9000)
        #expect(loader.configuration.http.maxBodyBytes == 2000)
        #expect(loader.configuration.outboxTopic == "from-flag")
        let sources = Dictionary(uniqueKeysWithValues: loader.settings.map { ($0.key, $0.source) })
        #expect(sources["HTTP_LISTEN"] == .file("test.conf", line: 2))
        #expect(sources["HTTP_MAX_BODY_BYTES"] == .environment)
        #expect(sources["OUTBOX_TOPIC"] == .flag)
        #expect(sources["PATH"] == nil)
    }

    @Test(arguments: [
        ("HTTP_MAX_BODY_BYTES", "lots", "HTTP_MAX_BODY_BYTES: \"lots\" is not a whole number from 1 to 67108864"),
        ("HTTP_LISTEN", "8080", "HTTP_LISTEN: \"8080\" is not host:port (e.g. 127.0.0.1:8080 or [::1]:8080)"),
        ("HTTP_LISTEN", "localhost:99999", "HTTP_LISTEN: \"99999\" is not a port from 0 to 65535"),
        ("SHUTDOWN_TIMEOUT", "5", "SHUTDOWN_TIMEOUT: \"5\" is not a duration like 500ms, 5s, 2m or 1h"),
        ("SHUTDOWN_TIMEOUT", "2h", "SHUTDOWN_TIMEOUT: 2h is outside 100ms…10m"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL: \"loud\" is not one of debug, info, notice, warning, error"),
        ("OUTBOX_TOPIC", "bad topic", "OUTBOX_TOPIC: \"bad topic\" is not a Kafka topic name (1–249 of a-z A-Z 0-9 . _ -, not . or .. or an internal topic)"),
        ("DATABASE_POOL_SIZE", "0", "DATABASE_POOL_SIZE: \"0\" is not a whole number from 1 to 1000"),
        ("GROUP_COMMIT", "maybe", "GROUP_COMMIT: \"maybe\" is not on or off"),
        ("NOTIFICATION_WEBHOOK_URL", "https://hooks.example/x", "NOTIFICATION_WEBHOOK_URL: must start with http:// (https is not supported; use a local forwarder)"),
        ("CONSUMERS", "audit,billing", "CONSUMERS: \"billing\" is not a consumer; use some of audit,notifications,reminders or none"),
        ("GROUP_COMMIT_WINDOW", "1s", "GROUP_COMMIT_WINDOW: 1s is outside 0s…100ms"),
        ("API_TOKENS", "long-enough-token-1,short", "API_TOKENS: token 2 of 2 must be 16–512 visible ASCII characters without spaces or commas"),
        ("API_TOKENS", "has a space in it 0123", "API_TOKENS: token 1 of 1 must be 16–512 visible ASCII characters without spaces or commas"),
        ("HEALTH_METRICS_AUTH", "token", "HEALTH_METRICS_AUTH: token needs API_TOKENS to hold at least one token"),
        ("HEALTH_METRICS_AUTH", "closed", "HEALTH_METRICS_AUTH: \"closed\" is not one of open, token"),
        ("METRICS_LISTEN", "9100", "METRICS_LISTEN: \"9100\" is not host:port (e.g. 127.0.0.1:8080 or [::1]:8080)"),
        ("KAFKA_TOPIC_CREATE", "sometimes", "KAFKA_TOPIC_CREATE: \"sometimes\" is not one of auto, never"),
        ("KAFKA_TOPIC_PARTITIONS", "0", "KAFKA_TOPIC_PARTITIONS: \"0\" is not a whole number from 1 to 100000"),
        ("KAFKA_TOPIC_REPLICATION_FACTOR", "0", "KAFKA_TOPIC_REPLICATION_FACTOR: must be -1 (the broker's default) or 1–32767"),
        ("KAFKA_MESSAGE_TIMEOUT_MS", "1000", "KAFKA_MESSAGE_TIMEOUT_MS: librdkafka's message.timeout.ms follows RELAY_DELIVERY_TIMEOUT; set that instead"),
        ("KAFKA_DELIVERY_TIMEOUT_MS", "1000", "KAFKA_DELIVERY_TIMEOUT_MS: librdkafka's delivery.timeout.ms follows RELAY_DELIVERY_TIMEOUT; set that instead"),
        ("KAFKA_ALLOW_AUTO_CREATE_TOPICS", "true", "KAFKA_ALLOW_AUTO_CREATE_TOPICS: librdkafka's allow.auto.create.topics follows KAFKA_TOPIC_CREATE; set that instead"),
        ("KAFKA_ALLOW_EMBEDDED", "maybe", "KAFKA_ALLOW_EMBEDDED: \"maybe\" is not on or off"),
        ("OUTBOX_TOPIC_ROUTE", "events.{tenant}", "OUTBOX_TOPIC_ROUTE: unknown placeholder {tenant}; placeholders are {aggregate_type} and {event_type}"),
        ("OUTBOX_TOPIC_ROUTE", "my events.{aggregate_type}", "OUTBOX_TOPIC_ROUTE: \"my events.\" has characters a Kafka topic name cannot have (a-z A-Z 0-9 . _ -)"),
        ("OUTBOX_TOPIC_ROUTE", "", "OUTBOX_TOPIC_ROUTE: must not be empty"),
        ("OUTBOX_RECORD_SHAPE", "avro", "OUTBOX_RECORD_SHAPE: \"avro\" is not one of cloudevents, debezium"),
        ("OUTBOX_DEBEZIUM_CONVERTER", "avro", "OUTBOX_DEBEZIUM_CONVERTER: \"avro\" is not one of string, json, json-schemaless"),
    ])
    func invalidValueNamesTheKey(key: String, value: String, message: String) {
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader(fileText: nil, environment: [key: value], flags: [])
        }
        do {
            _ = try ConfigurationLoader(fileText: nil, environment: [:], flags: [(key: key, value: value)])
            Issue.record("accepted \(key)=\(value)")
        } catch {
            #expect(error.description == message)
        }
    }

    /// Under systemd (INVOCATION_ID) the parts that start Kafka refuse the embedded cluster unless
    /// KAFKA_ALLOW_EMBEDDED=yes; a real broker, `api` alone, or no INVOCATION_ID pass.
    @Test func embeddedKafkaIsRefusedUnderSystemdOnlyWhereKafkaStarts() throws {
        func refusal(_ environment: [String: String], parts: Set<Daemon.Part>) throws -> DaemonError? {
            let loader = try ConfigurationLoader(fileText: nil, environment: environment, flags: [])
            let process = environment.filter { $0.key == "INVOCATION_ID" }
            do {
                try loader.configuration.refuseEmbeddedKafkaUnderSystemd(parts: parts, environment: process, configPath: nil)
                return nil
            } catch {
                return error
            }
        }
        let systemd = ["INVOCATION_ID": "abc123"]
        for parts: Set<Daemon.Part> in [[.api, .relay, .consumers], [.relay], [.consumers]] {
            let error = try #require(try refusal(systemd, parts: parts), "\(parts) accepted embedded under systemd")
            #expect(error.exitCode == 78)
            #expect(error.description.contains("KAFKA_BOOTSTRAP_SERVERS is embedded"))
            #expect(error.description.contains("KAFKA_ALLOW_EMBEDDED=yes"))
            #expect(try refusal(systemd.merging(["KAFKA_ALLOW_EMBEDDED": "yes"]) { $1 }, parts: parts) == nil)
            #expect(try refusal(systemd.merging(["KAFKA_BOOTSTRAP_SERVERS": "kafka1:9092,kafka2:9092"]) { $1 }, parts: parts) == nil)
            #expect(try refusal([:], parts: parts) == nil)
            #expect(try refusal(["INVOCATION_ID": ""], parts: parts) == nil)
        }
        #expect(try refusal(systemd, parts: [.api]) == nil)
        #expect(try refusal(systemd.merging(["CONSUMERS": "none"]) { $1 }, parts: [.api, .consumers]) == nil)
        #expect(try refusal(systemd.merging(["CONSUMERS": "none"]) { $1 }, parts: [.api, .relay, .consumers]) != nil)
    }

    @Test func unknownFileKeyIsRefusedWithASuggestion() {
        do {
            _ = try ConfigurationLoader(fileText: "HTTP_LISTN=1.2.3.4:5\n", fileName: "x.conf", environment: [:], flags: [])
            Issue.record("accepted an unknown key")
        } catch {
            #expect(error.description == "HTTP_LISTN: unknown key in x.conf line 1 (did you mean HTTP_LISTEN?)")
        }
    }

    @Test func kafkaPassthroughBecomesLibrdkafkaProperties() throws {
        let loader = try ConfigurationLoader(
            fileText: "KAFKA_SASL_MECHANISMS=PLAIN\nKAFKA_SASL_PASSWORD=hunter2\n",
            environment: ["KAFKA_COMPRESSION_TYPE": "lz4"], flags: [])
        #expect(loader.configuration.kafka.passthrough == [
            "sasl.mechanisms": "PLAIN", "sasl.password": "hunter2", "compression.type": "lz4",
        ])
        let text = OutboxdCommand.checkConfigText(loader)
        #expect(text.contains("KAFKA_SASL_PASSWORD=***"))
        #expect(!text.contains("hunter2"))
        #expect(text.contains("KAFKA_SASL_MECHANISMS=PLAIN"))
    }

    @Test func checkConfigRedactsTheDatabasePassword() throws {
        let loader = try ConfigurationLoader(
            fileText: nil, environment: ["DATABASE_URL": "postgresql://app:s3cret@db:5432/tasks?sslmode=require&password=other"], flags: [])
        let text = OutboxdCommand.checkConfigText(loader)
        #expect(text.contains("DATABASE_URL=postgresql://app:***@db:5432/tasks?sslmode=require&password=***  # environment"))
        #expect(!text.contains("s3cret"))
        #expect(!text.contains("other"))
    }

    /// config/outboxd.conf documents every key with its default on a commented-out `#KEY=default`
    /// line and sets nothing: under systemd the file (EnvironmentFile=) overrides the unit's
    /// Environment= lines, so a value set here would override MIGRATIONS_DIR=/usr/local/share/….
    @Test func shippedConfigFileKeepsEveryDefaultCommentedOut() throws {
        let path = TestEnvironment.repositoryRoot.appendingPathComponent("config/outboxd.conf").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for key in ConfigurationKey.all {
            let commented = lines.filter { $0.hasPrefix("#\(key.name)=") }
            #expect(commented == ["#\(key.name)=\(key.defaultValue)"], "config/outboxd.conf must have one line #\(key.name)=\(key.defaultValue), has \(commented)")
        }
        let set = try EnvironmentFile.parse(text, name: "config/outboxd.conf")
        #expect(set.isEmpty, "config/outboxd.conf sets \(set.map { "\($0.key) (line \($0.line))" })")
        let readme = try String(contentsOfFile: TestEnvironment.repositoryRoot.appendingPathComponent("README.md").path, encoding: .utf8)
        for key in ConfigurationKey.all {
            #expect(readme.contains("| `\(key.name)` |"), "README's configuration table lacks \(key.name)")
        }
        // And it loads as it is, to the code's defaults.
        let loader = try ConfigurationLoader(fileText: text, environment: [:], flags: [])
        #expect(loader.settings.allSatisfy { $0.source == .defaultValue })
        #expect(loader.configuration.http.port == 8080)
    }
}

@Suite struct EnvironmentFileTests {
    @Test func parsesQuotesCommentsAndBlanks() throws {
        let text = """
            # a comment
            ; another

              A=plain value  
            B="quoted \\"inner\\" \\\\ value"
            C='single # not a comment'
            D=
            """
        let entries = try EnvironmentFile.parse(text, name: "f")
        #expect(entries.map(\.key) == ["A", "B", "C", "D"])
        #expect(entries.map(\.value) == ["plain value", "quoted \"inner\" \\ value", "single # not a comment", ""])
        #expect(entries.map(\.line) == [4, 5, 6, 7])
    }

    /// Found by the config fuzz target: "\r\n" is one Character, so CRLF files were one long line.
    @Test func readsCRLFLineEndings() throws {
        let entries = try EnvironmentFile.parse("\t\r\nA=1\r\n# c\r\nB=\"two\" \r\n", name: "f")
        #expect(entries == [.init(key: "A", value: "1", line: 2), .init(key: "B", value: "two", line: 4)])
        let loader = try ConfigurationLoader(fileText: "HTTP_MAX_BODY_BYTES=100\r\nOUTBOX_TOPIC=t\r\n", environment: [:], flags: [])
        #expect(loader.configuration.http.maxBodyBytes == 100)
        #expect(loader.configuration.outboxTopic == "t")
    }

    @Test func aByteOrderMarkBeforeTheFirstKeyIsSkipped() throws {
        let entries = try EnvironmentFile.parse("\u{FEFF}OUTBOX_TOPIC=t\n", name: "f")
        #expect(entries == [.init(key: "OUTBOX_TOPIC", value: "t", line: 1)])
    }

    @Test(arguments: [
        ("JUSTAKEY", "f line 1: expected KEY=VALUE"),
        ("1BAD=x", "f line 1: \"1BAD\" is not a valid key (letters, digits and _; not starting with a digit)"),
        ("A=\"open", "A: f line 1: unterminated quote"),
    ])
    func rejectsMalformedLines(text: String, message: String) {
        do {
            _ = try EnvironmentFile.parse(text, name: "f")
            Issue.record("accepted \(text)")
        } catch {
            #expect("\(error)" == message)
        }
    }
}

@Suite struct RedactionTests {
    @Test(arguments: [
        ("postgresql://u:pw@h/db", "postgresql://u:***@h/db"),
        ("postgres://u@h:5/db", "postgres://u@h:5/db"),
        ("host=h password=pw user=u", "host=h password=*** user=u"),
        ("host=h password = 'a b\\' c' user=u", "host=h password = *** user=u"),
        ("", ""),
        ("tasks", "tasks"),
        // Issue #28 item 5: however the password is spelled, and however libpq would split it.
        ("postgresql://u:pa/ss@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u:p%zz@h/db?sslmode=require", "postgresql://u:***@h/db?sslmode=require"),
        ("postgresql://u:p@ss@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u:pa?ss@h:5432/db?sslmode=require&application_name=a@b", "postgresql://u:***@h:5432/db?sslmode=require&application_name=a@b"),
        ("POSTGRESQL://u:pw@h/db", "POSTGRESQL://u:***@h/db"),
        ("postgresql://h/db?PASSWORD=pw&sslmode=require", "postgresql://h/db?PASSWORD=***&sslmode=require"),
        ("postgresql://h/db?pass%77ord=pw", "postgresql://h/db?pass%77ord=***"),
        ("postgresql://h/db?pass%57ORD=pw&password=pw2", "postgresql://h/db?pass%57ORD=***&password=***"),
        ("host=h PASSWORD=pw user=u", "host=h PASSWORD=*** user=u"),
        ("host=h pass%77ord=pw", "host=h pass%77ord=***"),
        ("host=h password=two words user=u", "host=h password=*** ***"),
        ("host=h password='unterminated user=u", "host=h password=***"),
        ("host=h\tpassword=pw\nuser=u", "host=h\tpassword=***\nuser=u"),
    ])
    func conninfoPasswordsAreMasked(input: String, expected: String) {
        #expect(Redaction.conninfo(input) == expected)
    }

    @Test func secretKeysScrubAndExcerpts() {
        for key in ["KAFKA_SASL_PASSWORD", "KAFKA_SSL_KEY_PEM", "KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET", "KAFKA_SASL_OAUTHBEARER_CONFIG",
                    "KAFKA_SSL_KEYSTORE_PASSWORD", "KAFKA_SASL_OAUTHBEARER_ASSERTION_PRIVATE_KEY_PASSPHRASE", "API_TOKENS"] {
            #expect(Redaction.isSecretKey(key), "\(key)")
        }
        #expect(!Redaction.isSecretKey("KAFKA_SASL_USERNAME"))
        #expect(Redaction.scrub("bad value pw123 in pw123x", secrets: ["pw123", "", "ab"]) == "bad value *** in ***x")
        #expect(Redaction.excerpt("short") == "short")
        #expect(Redaction.excerpt(String(repeating: "é", count: 100), limit: 4) == "éééé… (200 bytes)")
    }
}

@Suite struct CommandLineArgumentsTests {
    @Test func accessSettings() throws {
        let loader = try ConfigurationLoader(fileText: nil, environment: ["API_TOKENS": "aaaaaaaaaaaaaaaa,bbbbbbbbbbbbbbbb"],
                                             flags: [(key: "HEALTH_METRICS_AUTH", value: "token"), (key: "METRICS_LISTEN", value: "0.0.0.0:9101")])
        #expect(loader.configuration.access.apiTokens == ["aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"])
        #expect(loader.configuration.access.healthAndMetricsNeedToken)
        #expect(loader.configuration.metricsHTTP?.host == "0.0.0.0")
        #expect(loader.configuration.metricsHTTP?.port == 9101)
        #expect(OutboxdCommand.checkConfigText(loader).contains("API_TOKENS=***  # environment"))
        #expect(try ConfigurationLoader(fileText: nil, environment: [:], flags: []).configuration.metricsHTTP == nil)
    }

    @Test func groupCommitSettings() throws {
        let off = try ConfigurationLoader(fileText: "GROUP_COMMIT=off\nGROUP_COMMIT_WRITERS=2\n", environment: ["GROUP_COMMIT_WINDOW": "5ms"], flags: [])
        #expect(!off.configuration.groupCommit.enabled)
        #expect(off.configuration.groupCommit.writers == 2)
        #expect(off.configuration.groupCommit.window == .milliseconds(5))
        #expect(try ConfigurationLoader(fileText: nil, environment: [:], flags: []).configuration.groupCommit.enabled)
    }

    @Test func recordSettings() throws {
        let debezium = try ConfigurationLoader(fileText: "OUTBOX_RECORD_SHAPE=debezium\n", environment: ["OUTBOX_TOPIC_ROUTE": "svc.{event_type}"], flags: [])
        #expect(debezium.configuration.relay.format.shape == .debezium)
        #expect(debezium.configuration.relay.format.route.topic(aggregateType: "a", eventType: "order.placed") == "svc.order.placed")
        let defaults = try ConfigurationLoader(fileText: nil, environment: [:], flags: []).configuration.relay.format
        #expect(defaults.shape == .cloudEvents)
        #expect(defaults.route.topic(aggregateType: "Order", eventType: "e") == "outbox.event.Order")
        #expect(defaults.debeziumContext.enabled && defaults.debeziumContext.logicalName == "outboxd")
    }

    /// Issue #26: Debezium's router options by outboxd's keys; each refused with the key that is
    /// wrong, and only in the Debezium shape.
    @Test func debeziumRouterSettings() throws {
        let shape = "OUTBOX_RECORD_SHAPE=debezium\n"
        let set = try ConfigurationLoader(fileText: shape, environment: [
            "OUTBOX_DEBEZIUM_ROUTE_BY_FIELD": "tenant", "OUTBOX_DEBEZIUM_ROUTE_TOPIC_REGEX": "(?<name>acme|globex)-(eu|us)",
            "OUTBOX_DEBEZIUM_ROUTE_TOPIC_REPLACEMENT": "tenant.${name}.$2", "OUTBOX_DEBEZIUM_EVENT_TIMESTAMP_FIELD": "timestamp",
            "OUTBOX_DEBEZIUM_ADDITIONAL_PLACEMENT": "type:header:eventType, tenant:ENVELOPE ,part:partition", "OUTBOX_DEBEZIUM_TABLE": "shop.outbox",
            "CONSUMERS": "none",
        ], flags: []).configuration.relay.format.debeziumRouter
        #expect(set.route?.field == "tenant")
        #expect(set.route?.topic("acme-us") == "tenant.acme.us")
        #expect(set.route?.topic("initech") == "initech")
        #expect(set.eventTimestampField == "timestamp")
        #expect(set.additionalFields == [DebeziumAdditionalField(column: "type", placement: .header, alias: "eventType"),
                                         DebeziumAdditionalField(column: "tenant", placement: .envelope, alias: "tenant"),
                                         DebeziumAdditionalField(column: "part", placement: .partition, alias: "part")])
        #expect(set.table == "shop.outbox")
        #expect(set.addedColumnsRead == ["timestamp", "tenant", "tenant", "part"])
        // At Debezium's defaults the route is OUTBOX_TOPIC_ROUTE's.
        #expect(try ConfigurationLoader(fileText: shape, environment: ["OUTBOX_DEBEZIUM_ROUTE_BY_FIELD": "aggregatetype"], flags: [])
            .configuration.relay.format.debeziumRouter.route == nil)

        for (environment, key, words) in [
            (["OUTBOX_DEBEZIUM_ROUTE_BY_FIELD": "Tenant"], "OUTBOX_DEBEZIUM_ROUTE_BY_FIELD", "not a column name"),
            (["OUTBOX_DEBEZIUM_ROUTE_TOPIC_REGEX": "(unclosed"], "OUTBOX_DEBEZIUM_ROUTE_TOPIC_REGEX", "not a regular expression"),
            (["OUTBOX_DEBEZIUM_ROUTE_TOPIC_REPLACEMENT": "t.${nope}"], "OUTBOX_DEBEZIUM_ROUTE_TOPIC_REPLACEMENT", "no group of that name"),
            (["OUTBOX_DEBEZIUM_ROUTE_TOPIC_REPLACEMENT": "t.$2"], "OUTBOX_DEBEZIUM_ROUTE_TOPIC_REPLACEMENT", "has 1 group(s)"),
            (["OUTBOX_DEBEZIUM_ROUTE_TOPIC_REPLACEMENT": "cost$"], "OUTBOX_DEBEZIUM_ROUTE_TOPIC_REPLACEMENT", "lone $"),
            (["OUTBOX_DEBEZIUM_ROUTE_BY_FIELD": "type", "OUTBOX_TOPIC_ROUTE": "x.{event_type}"], "OUTBOX_TOPIC_ROUTE", "set one or the other"),
            (["OUTBOX_DEBEZIUM_ADDITIONAL_PLACEMENT": "type:head"], "OUTBOX_DEBEZIUM_ADDITIONAL_PLACEMENT", "one of header, envelope, partition"),
            (["OUTBOX_DEBEZIUM_ADDITIONAL_PLACEMENT": "type"], "OUTBOX_DEBEZIUM_ADDITIONAL_PLACEMENT", "column:placement"),
            (["OUTBOX_DEBEZIUM_ADDITIONAL_PLACEMENT": "type:header:a:b"], "OUTBOX_DEBEZIUM_ADDITIONAL_PLACEMENT", "column:placement"),
            (["OUTBOX_DEBEZIUM_ADDITIONAL_PLACEMENT": "ty-pe:header"], "OUTBOX_DEBEZIUM_ADDITIONAL_PLACEMENT", "not a column name"),
            (["OUTBOX_DEBEZIUM_ADDITIONAL_PLACEMENT": "type:envelope"], "OUTBOX_DEBEZIUM_ADDITIONAL_PLACEMENT", "CONSUMERS=none"),
            (["OUTBOX_DEBEZIUM_EVENT_TIMESTAMP_FIELD": "ts;drop"], "OUTBOX_DEBEZIUM_EVENT_TIMESTAMP_FIELD", "not a column name"),
            (["OUTBOX_DEBEZIUM_TABLE": "outbox"], "OUTBOX_DEBEZIUM_TABLE", "schema.table"),
        ] {
            do {
                _ = try ConfigurationLoader.load(path: nil, flags: [], environment: environment.merging(["OUTBOX_RECORD_SHAPE": "debezium"]) { $1 })
                Issue.record("\(environment) accepted")
            } catch {
                #expect(error.key == key && error.description.contains(words), "\(environment): \(error)")
            }
        }
        do {
            _ = try ConfigurationLoader(fileText: nil, environment: ["OUTBOX_DEBEZIUM_ROUTE_BY_FIELD": "type"], flags: [])
            Issue.record("a Debezium option accepted in the CloudEvents shape")
        } catch {
            #expect(error.key == "OUTBOX_DEBEZIUM_ROUTE_BY_FIELD" && error.description.contains("OUTBOX_RECORD_SHAPE=debezium only"), "\(error)")
        }
    }

    /// Issue #26: the `__debezium.context.*` headers' switch and logical name (Debezium's topic.prefix).
    @Test func debeziumContextSettings() throws {
        let set = try ConfigurationLoader(fileText: "OUTBOX_DEBEZIUM_CONTEXT_HEADERS=no\n", environment: ["OUTBOX_DEBEZIUM_LOGICAL_NAME": "shop.db-1_x"], flags: [])
        #expect(!set.configuration.relay.format.debeziumContext.enabled)
        #expect(set.configuration.relay.format.debeziumContext.logicalName == "shop.db-1_x")
        for bad in ["", "has space", "ünï", String(repeating: "a", count: 256)] {
            do {
                _ = try ConfigurationLoader(fileText: nil, environment: ["OUTBOX_DEBEZIUM_LOGICAL_NAME": bad], flags: [])
                Issue.record("\(bad.prefix(20)) accepted")
            } catch {
                #expect(error.key == "OUTBOX_DEBEZIUM_LOGICAL_NAME" && error.description.contains("Debezium's topic.prefix"), "\(error)")
            }
        }
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader(fileText: nil, environment: ["OUTBOX_DEBEZIUM_CONTEXT_HEADERS": "maybe"], flags: []) }
        #expect(set.configuration.relay.format.debeziumConverter == .string)
        let json = try ConfigurationLoader(fileText: "OUTBOX_DEBEZIUM_CONVERTER=json-schemaless\n", environment: [:], flags: [])
        #expect(json.configuration.relay.format.debeziumConverter == .jsonSchemaless)
        #expect(!json.configuration.relay.format.debeziumTombstoneOnEmptyPayload)
        let tombstones = try ConfigurationLoader(fileText: nil, environment: ["OUTBOX_DEBEZIUM_TOMBSTONE_ON_EMPTY_PAYLOAD": "yes"], flags: [])
        #expect(tombstones.configuration.relay.format.debeziumTombstoneOnEmptyPayload)
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader(fileText: nil, environment: ["OUTBOX_DEBEZIUM_TOMBSTONE_ON_EMPTY_PAYLOAD": "sometimes"], flags: [])
        }
    }

    @Test func settingsFlagsBecomeKeys() throws {
        let parsed = try CommandLineArguments(["serve", "--migrate", "--config", "a.conf", "--http-listen", "127.0.0.1:0", "--log-level=debug"])
        #expect(parsed.command == .serve)
        #expect(parsed.migrate)
        #expect(parsed.configPath == "a.conf")
        #expect(parsed.settings == [.init(key: "HTTP_LISTEN", value: "127.0.0.1:0"), .init(key: "LOG_LEVEL", value: "debug")])
    }

    @Test func versionIsACommandAndAFlag() throws {
        #expect(try CommandLineArguments(["--version"]).command == .version)
        #expect(try CommandLineArguments(["version"]).command == .version)
        #expect(OutboxdVersion.text.split(separator: "\n").first == "outboxd \(OutboxdVersion.current)")
        let loader = try ConfigurationLoader(fileText: nil, environment: [:], flags: [])
        #expect(OutboxdCommand.checkConfigText(loader).hasPrefix("# outboxd \(OutboxdVersion.current), librdkafka "))
    }

    @Test(arguments: [
        ([], "no command given"),
        (["launch"], "unknown command \"launch\"; commands: serve, api, relay, consume, outbox, migrate, check-config, version, help"),
        (["serve", "--http-listen"], "--http-listen needs a value"),
        (["serve", "stray"], "unexpected argument \"stray\"; options start with --"),
    ])
    func usageErrors(arguments: [String], message: String) {
        do {
            _ = try CommandLineArguments(arguments)
            Issue.record("accepted \(arguments)")
        } catch {
            #expect(error.exitCode == 64)
            #expect(error.description.hasPrefix(message))
        }
    }
}
