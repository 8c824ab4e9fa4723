import OutboxdCore
import OutboxdHTTP
import OutboxdKafka
import OutboxdOutbox

extension Daemon {
    /// `/healthz`, `/readyz` and `/metrics` (open unless `HEALTH_METRICS_AUTH=token`), with the
    /// bearer check for every other route added later and request metrics for all of them.
    func operationsRouter(relay: Relay?) -> Router {
        var router = Router()
        let access = configuration.access
        if !access.apiTokens.isEmpty {
            let auth = BearerTokenAuth(tokens: access.apiTokens)
            router.authorization = { auth.check($0) }
        }
        let metrics = httpMetrics
        router.observer = { route, response, duration in metrics.record(route: route, response: response, duration: duration) }
        let open = !access.healthAndMetricsNeedToken
        HealthRoutes(checks: healthChecks(relay: relay)).register(in: &router, open: open)
        let (consumers, producer) = running.withLock { ($0.consumers, $0.producer) }
        let registry = MetricsRegistry()
        registry.register(metricsCollectors(relay: relay, consumers: consumers, producer: producer))
        router.add("GET", "/metrics", open: open) { _, _ in .text(200, registry.render(), contentType: PrometheusText.contentType) }
        return router
    }

    private func healthChecks(relay: Relay?) -> [(name: String, check: HealthRoutes.Check)] {
        var checks: [(name: String, check: HealthRoutes.Check)] = [("database", HealthRoutes.database(pool))]
        if let relay {
            let embedded = configuration.kafka.isEmbedded
            let bootstrap = kafkaBootstrapServers
            let library = RDKafkaLibrary.version
            // The brokers' addresses are shown for the in-process cluster only (to read it with kcat).
            checks.append(("kafka", {
                var details = JSONObject(["embedded": .bool(embedded), "librdkafka": .string(library)])
                if embedded { details.append("bootstrap_servers", .string(bootstrap)) }
                return (true, details)
            }))
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
                        "dead_letter_failures": .int(progress.deadLetterFailures), "assigned_partitions": .int(progress.assignedPartitions),
                    ])))
                }
                return (true, details)
            }))
        }
        return checks
    }

    /// For the watchdog: `GET /healthz` on each of our listeners must answer 200 within 5 s, so a
    /// server whose threads are all stuck stops the pings. nil without a listener.
    func healthProbe() -> (@Sendable () -> String?)? {
        let targets = running.withLock { running in
            [(configuration.http, running.server), (configuration.metricsHTTP, running.metricsServer)].compactMap { config, server in
                server.flatMap { server in config.map { (Self.loopback(for: $0.host), server.port) } }
            }
        }
        guard !targets.isEmpty else { return nil }
        let token = configuration.access.healthAndMetricsNeedToken ? configuration.access.apiTokens.first : nil
        return {
            for (host, port) in targets {
                var head = "GET /healthz HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\n"
                if let token { head += "Authorization: Bearer \(token)\r\n" }
                do {
                    let status = try HTTPExchange.status(host: host, port: port, request: Array((head + "\r\n").utf8), timeout: .seconds(5))
                    if status != 200 { return "HTTP server on port \(port) answered GET /healthz with \(status)" }
                } catch {
                    return "HTTP server on port \(port) did not answer GET /healthz: \(error)"
                }
            }
            return nil
        }
    }

    /// The address to reach a listener bound to `host` from this machine.
    static func loopback(for host: String) -> String {
        switch host {
        case "0.0.0.0", "": "127.0.0.1"
        case "::", "[::]": "::1"
        default: host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        }
    }
}
