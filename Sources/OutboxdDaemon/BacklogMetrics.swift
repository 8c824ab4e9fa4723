import OutboxdCore
import OutboxdOutbox
import OutboxdPostgres

/// `outboxd_database_up` and the outbox backlog per topic (pending, oldest pending age, parked)
/// from one query per scrape over the unpublished rows only (`OutboxInspection.backlogByTopic`, on
/// the partial indexes). The configured topic is always shown, with zeros when nothing is waiting.
struct BacklogMetrics: MetricsCollector {
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
            topics.map { ([$0.topic], $0.oldestPendingAge) }
        }.render(into: &text)
        CollectedMetric("outboxd_outbox_parked", "Parked events: they wait for outbox_retry or `outboxd outbox retry`.", labels: ["topic"]) {
            topics.map { ([$0.topic], Double($0.parked)) }
        }.render(into: &text)
    }

    /// nil when the database cannot be asked.
    private func query() -> [OutboxInspection.TopicBacklog]? {
        do {
            var topics = try pool.withConnection(OutboxInspection.backlogByTopic(on:))
            if !topics.contains(where: { $0.topic == topic }) {
                topics.append(OutboxInspection.TopicBacklog(topic: topic, pending: 0, oldestPendingAge: 0, parked: 0))
            }
            return topics.sorted { $0.topic < $1.topic }
        } catch {
            return nil
        }
    }
}
