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

    /// `GET /openapi.json`, the API's OpenAPI description, on the API's listener only: open like
    /// `/healthz` (it describes the routes and holds no data), unless `HEALTH_METRICS_AUTH=token`.
    func registerAPIDocument(in router: inout Router) {
        let body = Array(OpenAPIDocument.text.utf8)
        router.add("GET", "/openapi.json", open: !configuration.access.healthAndMetricsNeedToken, inline: true) { _, _ in
            HTTPResponse(status: 200, headers: [("Content-Type", "application/json")], body: body)
        }
    }

    private func healthChecks(relay: Relay?) -> [HealthRoutes.Component] {
        var checks: [HealthRoutes.Component] = [("database", HealthRoutes.database(pool), api: true)]
        // Down for good once a part ended by itself: the process is stopping (exit 75).
        checks.append(("parts", { [self] in
            guard let failed = failedPart else { return (true, JSONObject()) }
            return (false, JSONObject(["ended": .string(failed)]))
        }, api: true))
        if let relay {
            let embedded = configuration.kafka.isEmbedded
            let bootstrap = kafkaBootstrapServers
            let library = RDKafkaLibrary.version
            // The brokers' addresses are shown for the in-process cluster only (to read it with kcat).
            checks.append(("kafka", {
                var details = JSONObject(["embedded": .bool(embedded), "librdkafka": .string(library)])
                if embedded { details.append("bootstrap_servers", .string(bootstrap)) }
                return (true, details)
            }, api: false))
            // Down while rows are due and none is delivered or parked for RELAY_STALL_TIMEOUT
            // (not part of the API's readiness: /readyz/api).
            let stallTimeout = relay.configuration.stallTimeout
            checks.append(("relay", {
                let status = relay.status
                let now = ContinuousClock.now
                var details = JSONObject(["batches": .int(status.batches), "published": .int(status.published), "failed": .int(status.failed),
                                          "owned_shards": .array(status.ownedShards.map { .int($0) })])
                if let last = status.lastBatchAt { details.append("last_batch_at", .string(last.rfc3339)) }
                if let error = status.lastError { details.append("last_error", .string(error)) }
                let stalled = status.stall.stalled(now: now, after: stallTimeout)
                if stalled {
                    details.append("stalled_seconds", .int(Int(status.stall.secondsBehind(now: now))))
                    if let waiting = status.stall.waitingOn {
                        details.append("waiting_on", .object(JSONObject(["outbox_id": .string(String(waiting.id)), "reason": .string(waiting.reason)])))
                    }
                }
                return (!stalled, details)
            }, api: false))
            // Informational: while the WAL source cannot stream, the poller publishes (later, never less).
            if let source = running.withLock({ $0.walSource }) {
                checks.append(("wal", {
                    let status = source.status
                    var details = JSONObject(["phase": .string(status.phase.rawValue), "slot": .string(source.configuration.walSlot),
                                              "retained_bytes": .int(Int(status.retainedBytes)), "transactions": .int(status.transactions),
                                              "slots_recreated": .int(status.slotsRecreated)])
                    if let at = status.confirmedAt { details.append("confirmed_age_seconds", .int(Int((ContinuousClock.now - at).seconds))) }
                    if let error = status.lastError { details.append("last_error", .string(error)) }
                    return (true, details)
                }, api: false))
            }
        }
        // Informational: a listener at its connection limit is full, not down (and says so here).
        checks.append(("http", { [self] in
            var details = JSONObject()
            for (name, server) in httpServers {
                let status = server.status
                var refused = JSONObject()
                for reason in ConnectionTable.Refusal.allCases { refused.append(reason.rawValue, .int(status.refused[reason] ?? 0)) }
                details.append(name, .object(JSONObject([
                    "connections": .int(status.connections), "max_connections": .int(status.maxConnections), "at_limit": .bool(status.isFull),
                    "refused": .object(refused),
                    "request_timeouts": .int(status.requestTimeouts), "queued": .int(status.queued), "busy_workers": .int(status.busyWorkers),
                    "workers": .int(status.workers), "deferred": .int(status.deferred),
                ])))
            }
            return (true, details)
        }, api: true))
        let consumers = running.withLock { $0.consumers }
        // Not part of the API's readiness (/readyz/api): a stalled consumer leaves the API taking writes.
        if !consumers.isEmpty { checks.append(("consumers", HealthRoutes.consumers(consumers), api: false)) }
        return checks
    }
}
