import Foundation
import OutboxdConsumers
import OutboxdCore
import OutboxdHTTP
import OutboxdKafka
import OutboxdOutbox
import OutboxdPostgres

extension Daemon {
    /// Every family `/metrics` shows for the parts this process runs.
    func metricsCollectors(relay: Relay?, consumers: [ConsumerRunner], producer: RDKafkaProducer?) -> [any MetricsCollector] {
        var families: [any MetricsCollector] = [BacklogMetrics(pool: pool, topic: configuration.outboxTopic)]
        families += httpMetrics.families
        if parts.contains(.api) { families += deliveryWaitMetrics.families }
        if parts.contains(.api) && configuration.groupCommit.enabled { families += groupCommitMetrics.families }
        if let relay {
            families += relay.metrics.families
            families.append(CollectedMetric("outboxd_relay_heartbeat_age_seconds",
                                            "Seconds since the relay loop last went round (it goes round at least every RELAY_POLL_INTERVAL).") {
                [([], (ContinuousClock.now - relay.status.heartbeat).seconds)]
            })
            families.append(CollectedMetric("outboxd_relay_stalled_seconds",
                                            "Seconds rows have been due with none delivered or parked; 0 while the relay keeps up (RELAY_STALL_TIMEOUT: /readyz).") {
                [([], relay.status.stall.secondsBehind(now: .now))]
            })
            families.append(CollectedMetric("outboxd_relay_owned_shards", "Outbox shards this relay holds the advisory lock of.") {
                [([], Double(relay.status.ownedShards.count))]
            })
        }
        if let source = running.withLock({ $0.walSource }) {
            families.append(CollectedMetric("outboxd_wal_slot_retained_bytes",
                                            "WAL the relay's replication slot holds back (RELAY_SOURCE=wal), read every few seconds.") {
                [([], Double(source.status.retainedBytes))]
            })
            families.append(CollectedMetric("outboxd_wal_confirmed_age_seconds",
                                            "Seconds since the WAL source last confirmed the slot's position (every few seconds while it streams).") {
                [([], source.status.confirmedAt.map { (ContinuousClock.now - $0).seconds } ?? 0)]
            })
            families.append(CollectedMetric("outboxd_wal_streaming", "1 while the WAL source streams its slot, 0 while it stands by or fails (the poller publishes meanwhile).") {
                [([], source.status.phase == .streaming ? 1 : 0)]
            })
            families.append(CollectedMetric("outboxd_wal_transactions_total", "Committed transactions with outbox inserts the WAL source woke the relay for.", type: .counter) {
                [([], Double(source.status.transactions))]
            })
            families.append(CollectedMetric("outboxd_wal_slots_recreated_total",
                                            "Replication slots recreated after one went missing or was invalidated (its gap is published from the table).", type: .counter) {
                [([], Double(source.status.slotsRecreated))]
            })
            families.append(CollectedMetric("outboxd_wal_messages_total",
                                            "Events of outbox_emit_message read from the slot (table-less: delivered, or written as outbox rows when not).", type: .counter) {
                [([], Double(source.status.messages))]
            })
            families.append(CollectedMetric("outboxd_wal_messages_stored_total",
                                            "Events of outbox_emit_message written as outbox rows because they were not delivered (retried, or parked), or were not events.", type: .counter) {
                [([], Double(source.status.messagesStored))]
            })
        }
        if let consumer = consumers.first {
            families += consumer.metrics.families // one instance, shared by the consumers
            families.append(CollectedMetric("outboxd_consumer_events_total",
                                            "Records by consumer and result: applied, duplicate (seen before), failed_attempt, dead_lettered (to <topic>.dlq), dead_letter_kept (in consumer_dead_letters: Kafka refused the letter for good), tombstone_skipped.",
                                            type: .counter, labels: ["consumer", "result"]) {
                consumers.flatMap { runner -> [(labels: [String], value: Double)] in
                    let progress = runner.progress
                    let name = runner.handler.name
                    return [([name, "applied"], Double(progress.applied)), ([name, "duplicate"], Double(progress.duplicates)),
                            ([name, "failed_attempt"], Double(progress.failures)), ([name, "dead_lettered"], Double(progress.deadLettered)),
                            ([name, "dead_letter_kept"], Double(progress.deadLettersKept)), ([name, "tombstone_skipped"], Double(progress.tombstones))]
                }
            })
            families.append(CollectedMetric("outboxd_consumer_stalled_partitions",
                                            "Partitions that have had records to process for CONSUMER_STALL_TIMEOUT or longer and processed none (/readyz is 503 meanwhile).",
                                            labels: ["consumer"]) {
                consumers.map { ([$0.handler.name], Double($0.stalls.count)) }
            })
            families.append(CollectedMetric("outboxd_consumer_dead_letter_failures_total",
                                            "Records whose dead letter could not be written to <topic>.dlq; each stays unprocessed and is tried again.",
                                            type: .counter, labels: ["consumer"]) {
                consumers.map { ([$0.handler.name], Double($0.progress.deadLetterFailures)) }
            })
            families.append(CollectedMetric("outboxd_consumer_poll_errors_total", "Errors the consumer's poll returned (broker down, …).",
                                            type: .counter, labels: ["consumer"]) {
                consumers.map { ([$0.handler.name], Double($0.progress.errors)) }
            })
            families.append(CollectedMetric("outboxd_consumer_lag", "Records behind the partition's high watermark, per partition the consumer has processed.",
                                            labels: ["consumer", "partition"]) {
                consumers.flatMap { runner in
                    runner.progress.lag.sorted { $0.key < $1.key }.map { ([runner.handler.name, String($0.key)], Double($0.value)) }
                }
            })
        }
        if let producer {
            families.append(CollectedMetric("outboxd_kafka_broker_up", "1 when librdkafka's connection to the broker is UP (statistics every 5 s).",
                                            labels: ["broker"]) {
                producer.brokerStates.sorted { $0.key < $1.key }.map { ([$0.key], $0.value == "UP" ? 1 : 0) }
            })
        }
        families += httpServerMetrics()
        families.append(CollectedMetric("outboxd_process_resident_memory_bytes", "Resident set size of this process.") {
            Self.residentMemoryBytes().map { [([], Double($0))] } ?? []
        })
        return families
    }

    /// Each HTTP listener's connections, refusals and queue, labelled `listener` (`api`, `metrics`).
    private func httpServerMetrics() -> [any MetricsCollector] {
        let servers: @Sendable () -> [(name: String, status: HTTPServerStatus)] = { [self] in httpServers.map { (name: $0.name, status: $0.server.status) } }
        return [
            CollectedMetric("outboxd_http_connections", "Open HTTP connections.", labels: ["listener"]) {
                servers().map { ([$0.name], Double($0.status.connections)) }
            },
            CollectedMetric("outboxd_http_connections_limit", "HTTP_MAX_CONNECTIONS of the listener.", labels: ["listener"]) {
                servers().map { ([$0.name], Double($0.status.maxConnections)) }
            },
            CollectedMetric("outboxd_http_connections_refused_total",
                            "New connections closed at once: connection_limit (HTTP_MAX_CONNECTIONS) or per_address_limit.",
                            type: .counter, labels: ["listener", "reason"]) {
                servers().flatMap { server in ConnectionTable.Refusal.allCases.map { ([server.name, $0.rawValue], Double(server.status.refused[$0] ?? 0)) } }
            },
            CollectedMetric("outboxd_http_request_timeouts_total", "Connections closed because a request was not complete within HTTP_REQUEST_TIMEOUT.",
                            type: .counter, labels: ["listener"]) {
                servers().map { ([$0.name], Double($0.status.requestTimeouts)) }
            },
            CollectedMetric("outboxd_http_queued_requests", "Complete requests waiting for a worker (HTTP_WORKERS).", labels: ["listener"]) {
                servers().map { ([$0.name], Double($0.status.queued)) }
            },
            CollectedMetric("outboxd_http_busy_workers", "Workers running a request handler now.", labels: ["listener"]) {
                servers().map { ([$0.name], Double($0.status.busyWorkers)) }
            },
            CollectedMetric("outboxd_http_deferred_requests", "Requests waiting for a deferred answer (a create waiting for its group commit, Prefer: wait), holding no worker.", labels: ["listener"]) {
                servers().map { ([$0.name], Double($0.status.deferred)) }
            },
        ]
    }

    /// From `/proc/self/statm` (pages × page size).
    static func residentMemoryBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
