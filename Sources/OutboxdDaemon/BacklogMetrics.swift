import OutboxdCore
import OutboxdPostgres

/// `outboxd_database_up` and the outbox backlog per topic (pending, oldest pending age, parked)
/// from one query per scrape over the unpublished rows only (the partial index). The configured
/// topic is always shown, with zeros when nothing is waiting.
struct BacklogMetrics: MetricsCollector {
    private struct Topic {
        let topic: String
        let pending: Int
        let oldestAge: Double
        let parked: Int
    }

    let pool: PostgresPool
    let topic: String

    func render(into text: inout String) {
        let topics = query()
        CollectedMetric("outboxd_database_up", "1 when the outbox backlog query succeeded in this scrape.") {
            [([], topics == nil ? 0 : 1)]
        }.render(into: &text)
        guard let topics else { return }
        CollectedMetric("outboxd_outbox_pending", "Unpublished events that are not parked (due now or backing off).", labels: ["topic"]) {
            topics.map { ([$0.topic], Double($0.pending)) }
        }.render(into: &text)
        CollectedMetric("outboxd_outbox_oldest_pending_age_seconds", "Age of the oldest pending event; 0 when none is pending.", labels: ["topic"]) {
            topics.map { ([$0.topic], $0.oldestAge) }
        }.render(into: &text)
        CollectedMetric("outboxd_outbox_parked", "Parked events: they wait for outbox_retry or `outboxd outbox retry`.", labels: ["topic"]) {
            topics.map { ([$0.topic], Double($0.parked)) }
        }.render(into: &text)
    }

    /// nil when the database cannot be asked.
    private func query() -> [Topic]? {
        do {
            var topics = try pool.withConnection { connection in
                try connection.query(Self.statement).map { row in
                    Topic(topic: try row.require(String.self, "topic"), pending: try row.require(Int.self, "pending"),
                          oldestAge: try row.require(Double.self, "oldest_age"), parked: try row.require(Int.self, "parked"))
                }
            }
            if !topics.contains(where: { $0.topic == topic }) { topics.append(Topic(topic: topic, pending: 0, oldestAge: 0, parked: 0)) }
            return topics.sorted { $0.topic < $1.topic }
        } catch {
            return nil
        }
    }

    /// Each half filters exactly on a partial index's predicate (pending rows: `outbox_unpublished_idx`,
    /// parked rows: `outbox_parked_idx`), so a scrape reads the rows waiting, never the published history.
    static let statement = PostgresStatement(name: "metrics_outbox_backlog", sql: """
        SELECT topic, sum(pending)::int AS pending, coalesce(max(oldest_age), 0)::float8 AS oldest_age, sum(parked)::int AS parked
        FROM (
            SELECT topic, count(*) AS pending, extract(epoch FROM now() - min(created_at)) AS oldest_age, 0 AS parked
            FROM outbox WHERE published_at IS NULL AND parked_at IS NULL GROUP BY topic
            UNION ALL
            SELECT topic, 0, NULL, count(*)
            FROM outbox WHERE published_at IS NULL AND parked_at IS NOT NULL GROUP BY topic
        ) backlog
        GROUP BY topic
        """)
}
