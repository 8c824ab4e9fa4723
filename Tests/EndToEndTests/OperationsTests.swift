import Foundation
import OutboxdCore
import OutboxdKafka
import OutboxdPostgres
import OutboxdTestSupport
import Testing

/// What an operator does (README "Operating it"): scrape /metrics, break Kafka, watch the backlog
/// grow and rows park, retry them with one command; the API behind bearer tokens.
@Suite struct OperationsTests {
    static let token = "test-token-0123456789abcdef"
    let auth = [("Authorization", "Bearer \(Self.token)")]

    func scrape(_ client: HTTPTestClient, headers: [(String, String)] = []) throws -> PrometheusScrape {
        let response = try client.request("GET", "/metrics", headers: headers)
        guard response.status == 200 else { throw HTTPTestError("GET /metrics: \(response.status) \(response.text)") }
        #expect(response.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
        return try PrometheusScrape(response.text)
    }

    @Test func metricsMoveWithTrafficAndShowABrokenKafkaUntilParkedEventsAreRetried() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try RDKafkaMockCluster(brokers: 3, topics: [("task-events", 3), ("task-events.dlq", 1)])
        let daemon = try DaemonProcess(arguments: ["serve", "--http-listen", "127.0.0.1:0"], environment: [
            "DATABASE_URL": database.url, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrapServers, "CONSUMERS": "audit",
            "API_TOKENS": "another-token-0123456789,\(Self.token)", "KAFKA_STATISTICS_INTERVAL_MS": "200",
            "RELAY_DELIVERY_TIMEOUT": "2s", "RELAY_MAX_ATTEMPTS": "2",
            "RELAY_BACKOFF_BASE": "50ms", "RELAY_BACKOFF_MAX": "100ms", "RELAY_POLL_INTERVAL": "100ms",
        ])
        let client = try HTTPTestClient(port: try daemon.waitForPort())

        // Bearer tokens: refused without or with a wrong one, nothing written; health and metrics stay open.
        let missing = try client.json("POST", "/tasks", #"{"title":"no token"}"#)
        #expect(missing.status == 401)
        #expect(missing.header("WWW-Authenticate") == "Bearer realm=\"outboxd\"")
        #expect(missing.header("Content-Type") == "application/problem+json")
        #expect(try client.json("POST", "/tasks", #"{"title":"bad token"}"#, headers: [("Authorization", "Bearer not-the-token-0123456789")]).status == 401)
        #expect(try client.request("GET", "/tasks", headers: [("Authorization", "Bearer not-the-token-0123456789")]).status == 401)
        #expect(try database.count("tasks") == 0)
        #expect(try client.request("GET", "/healthz").status == 200)
        for n in 0..<5 {
            #expect(try client.json("POST", "/tasks", #"{"title":"task \#(n)"}"#, headers: auth).status == 201)
        }
        #expect(try client.request("GET", "/tasks", headers: auth).status == 200)
        try waitUntil("5 events are published", timeout: .seconds(30)) {
            try database.count("outbox", where: "published_at IS NOT NULL") == 5
        }
        // The relay counts a batch once its COMMIT's result is read, just after the rows change.
        try waitUntil("the relay counted 5 events", timeout: .seconds(30)) {
            try scrape(client).value("outboxd_relay_published_total", ["topic": "task-events"]) == 5
        }

        var metrics = try scrape(client)
        #expect(metrics.value("outboxd_http_requests_total", ["route": "POST /tasks", "status": "201"]) == 5)
        #expect(metrics.value("outboxd_http_requests_total", ["route": "POST /tasks", "status": "401"]) == 2)
        #expect(metrics.value("outboxd_http_requests_total", ["route": "GET /tasks", "status": "401"]) == 1)
        #expect(metrics.value("outboxd_http_request_duration_seconds_count", ["route": "POST /tasks"]) == 7)
        #expect(metrics.value("outboxd_relay_published_total", ["topic": "task-events"]) == 5)
        #expect(metrics.value("outboxd_relay_delivery_latency_seconds_count") == 5)
        #expect(metrics.value("outboxd_relay_delivery_latency_seconds_bucket", ["le": "+Inf"]) == 5)
        #expect(metrics.value("outboxd_relay_kafka_ack_seconds_count") == 5)
        #expect((metrics.value("outboxd_relay_kafka_ack_seconds_sum") ?? 0) > 0)
        #expect((metrics.value("outboxd_relay_kafka_ack_seconds_sum") ?? .infinity) <= (metrics.value("outboxd_relay_delivery_latency_seconds_sum") ?? 0))
        #expect((metrics.value("outboxd_relay_batch_rows_sum") ?? 0) == 5)
        #expect(metrics.value("outboxd_outbox_pending", ["topic": "task-events"]) == 0)
        #expect(metrics.value("outboxd_outbox_parked", ["topic": "task-events"]) == 0)
        #expect(metrics.value("outboxd_database_up") == 1)
        #expect(metrics.value("outboxd_relay_owned_shards") == 1)
        #expect((metrics.value("outboxd_process_resident_memory_bytes") ?? 0) > 1_000_000)
        #expect(metrics.types["outboxd_relay_delivery_latency_seconds"] == "histogram")
        try waitUntil("the audit consumer applied 5 events", timeout: .seconds(30)) {
            try scrape(client).value("outboxd_consumer_events_total", ["consumer": "audit", "result": "applied"]) == 5
        }
        try waitUntil("the brokers in use are seen UP", timeout: .seconds(30)) {
            let brokers = try scrape(client).all("outboxd_kafka_broker_up")
            return !brokers.isEmpty && brokers.allSatisfy { $0.value == 1 }
        }
        try waitUntil("the audit consumer's lag is known", timeout: .seconds(30)) {
            try scrape(client).value("outboxd_consumer_lag", ["consumer": "audit"]) != nil
        }
        metrics = try scrape(client)
        #expect(metrics.all("outboxd_consumer_lag").allSatisfy { $0.value == 0 })
        #expect(metrics.types["outboxd_consumer_effect_latency_seconds"] == "histogram")
        #expect(metrics.value("outboxd_consumer_effect_latency_seconds_count", ["consumer": "audit"]) == 5)
        #expect(metrics.value("outboxd_consumer_effect_latency_seconds_bucket", ["consumer": "audit", "le": "+Inf"]) == 5)

        // Every metric the shipped alert rules use is exported.
        let rules = try String(contentsOf: TestEnvironment.repositoryRoot.appendingPathComponent("config/outboxd-alerts.yml"), encoding: .utf8)
        let used = Set(rules.matches(of: /outboxd_[a-z_]+/).map { String($0.output) })
        #expect(used.count >= 10)
        let exported = Set(metrics.types.keys).union(metrics.samples.map(\.name))
        // The WAL source's (RELAY_SOURCE=wal): aWalRelayIsRefusedWithoutLogicalDecodingAndPublishesWithIt.
        for name in used where !name.hasPrefix("outboxd_wal_") {
            #expect(exported.contains(name), "alert rules use \(name), which /metrics does not export")
        }

        // Kafka breaks: the API still answers 201; the backlog grows, rows park, brokers show down.
        kafka.setAllBrokers(up: false)
        for n in 0..<3 {
            #expect(try client.json("POST", "/tasks", #"{"title":"while down \#(n)"}"#, headers: auth).status == 201)
        }
        try daemon.showingOutputOnFailure {
            var last: [PrometheusScrape.Sample] = []
            // A broker is shown down while the producer needs it; once every row is parked it needs
            // none, and librdkafka puts idle brokers back to INIT, which the metric leaves out.
            var sawBrokerDown = false
            do {
                // Each row parks after two delivery failures; with the brokers unresponsive the idempotent
                // producer reports a message it had in flight only when its request times out, which
                // under a full suite took 17-35 s per report (seen: one row still unparked at 60 s).
                try waitUntil("3 events are parked, seen in /metrics", timeout: .seconds(180)) {
                    let now = try scrape(client)
                    last = now.samples.filter { $0.name == "outboxd_outbox_parked" || $0.name == "outboxd_kafka_broker_up" }
                    sawBrokerDown = sawBrokerDown || now.all("outboxd_kafka_broker_up").contains { $0.value == 0 }
                    return now.value("outboxd_outbox_parked", ["topic": "task-events"]) == 3 && sawBrokerDown
                }
            } catch {
                throw HTTPTestError("\(error); last seen: \(last)")
            }
        }
        metrics = try scrape(client)
        #expect(metrics.value("outboxd_relay_parked_total") == 3)
        // message.timeout.ms follows RELAY_DELIVERY_TIMEOUT (2 s): librdkafka gives each message up
        // and reports it, so every failed attempt is one it can no longer deliver.
        #expect(metrics.value("outboxd_relay_publish_failures_total", ["reason": "_MSG_TIMED_OUT"]) == 6)
        #expect(metrics.value("outboxd_relay_publish_failures_total", ["reason": "NO_REPORT"]) == nil)
        let backlog = try database.connect().query("SELECT parked::int AS parked FROM outbox_backlog WHERE topic = 'task-events'")
        #expect(try backlog.first?.require(Int.self, "parked") == 3)
        let parked = try DaemonProcess(arguments: ["outbox", "parked", "--json"], environment: ["DATABASE_URL": database.url])
        #expect(try parked.waitForExit() == 0)
        #expect(parked.output.components(separatedBy: "\"event_id\"").count - 1 == 3)

        // Kafka is back (the producer says so): one command sends the parked events.
        kafka.setAllBrokers(up: true)
        try waitUntil("the brokers are seen UP again", timeout: .seconds(60)) {
            let brokers = try scrape(client).all("outboxd_kafka_broker_up")
            return !brokers.isEmpty && brokers.allSatisfy { $0.value == 1 }
        }
        let retry = try DaemonProcess(arguments: ["outbox", "retry-parked"], environment: ["DATABASE_URL": database.url])
        #expect(try retry.waitForExit() == 0)
        try daemon.showingOutputOnFailure {
            try waitUntil("all 8 events are published", timeout: .seconds(60)) {
                try database.count("outbox", where: "published_at IS NOT NULL") == 8
            }
        }
        metrics = try scrape(client)
        #expect(metrics.value("outboxd_relay_published_total", ["topic": "task-events"]) == 8)
        #expect(metrics.value("outboxd_outbox_parked", ["topic": "task-events"]) == 0)
        #expect(metrics.value("outboxd_outbox_pending", ["topic": "task-events"]) == 0)
        #expect(!daemon.output.contains(Self.token))
        daemon.signal(SIGTERM)
        #expect(try daemon.waitForExit() == 0)
    }

    @Test func healthAndMetricsCanRequireAToken() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let daemon = try DaemonProcess(arguments: ["api", "--http-listen", "127.0.0.1:0"], environment: [
            "DATABASE_URL": database.url, "API_TOKENS": Self.token, "HEALTH_METRICS_AUTH": "token",
        ])
        let client = try HTTPTestClient(port: try daemon.waitForPort())
        for path in ["/healthz", "/readyz", "/metrics"] {
            #expect(try client.request("GET", path).status == 401, "\(path)")
            #expect(try client.request("GET", path, headers: auth).status == 200, "\(path)")
        }
        daemon.signal(SIGTERM)
        #expect(try daemon.waitForExit() == 0)
    }

    /// `outboxd relay` has no API; METRICS_LISTEN gives it /metrics and the health endpoints.
    @Test func relayProcessIsScrapedOnMetricsListen() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let kafka = try RDKafkaMockCluster(brokers: 1, topics: [("task-events", 1), ("task-events.dlq", 1)])
        let relay = try DaemonProcess(arguments: ["relay", "--metrics-listen", "127.0.0.1:0"], environment: [
            "DATABASE_URL": database.url, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrapServers,
        ])
        let client = try HTTPTestClient(port: try relay.waitForPort())
        try waitUntil("the relay owns its shard", timeout: .seconds(30)) { try scrape(client).value("outboxd_relay_owned_shards") == 1 }
        #expect(try client.request("GET", "/readyz").status == 200)
        #expect(try client.json("POST", "/tasks", #"{"title":"x"}"#).status == 404)
        relay.signal(SIGTERM)
        #expect(try relay.waitForExit() == 0)
    }

    @Test func aConfigFileWithSecretsReadableByOthersIsWarnedAbout() throws {
        let file = TestEnvironment.scratchDirectory.appendingPathComponent("secret-\(UUID()).conf")
        try "API_TOKENS=\(Self.token)\nDATABASE_URL=postgresql://u:hunter2@localhost/db\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        func checkConfig() throws -> String {
            let process = try DaemonProcess(arguments: ["check-config", "--config", file.path])
            #expect(try process.waitForExit() == 0)
            return process.output
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file.path)
        let loose = try checkConfig()
        #expect(loose.contains("holds secrets (DATABASE_URL, API_TOKENS) and is readable by other users"), "\(loose)")
        #expect(!loose.contains(Self.token) && !loose.contains("hunter2"))
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: file.path)
        #expect(!(try checkConfig()).contains("readable by other users"))
    }
}
