/// The relay's events published per topic, written to `outbox_published_counts` (which the
/// `outbox_backlog` view reads) at most once per `interval` instead of with every batch: at a few
/// events per batch, an upsert per batch cost PostgreSQL more per event than the mark. Counts are
/// for operators, not delivery: those of a record that rolls back are counted again when their
/// rows are delivered again, and a crash loses at most an interval of them. Pure.
struct PublishedCounts {
    let interval: Duration
    private var pending: [String: Int] = [:]
    private var lastWritten: ContinuousClock.Instant?

    init(interval: Duration = .seconds(1)) {
        self.interval = interval
    }

    /// Puts back counts `add` returned that were not written, without making any due.
    mutating func restore(_ perTopic: [String: Int]) {
        for (topic, count) in perTopic { pending[topic, default: 0] += count }
    }

    /// Adds a batch's counts; returns every count not written yet when they are due (an interval
    /// after the last write, the first batch, or `flush`), and forgets them.
    mutating func add(_ perTopic: [String: Int], now: ContinuousClock.Instant, flush: Bool = false) -> [String: Int] {
        for (topic, count) in perTopic { pending[topic, default: 0] += count }
        guard !pending.isEmpty, flush || lastWritten.map({ now - $0 >= interval }) ?? true else { return [:] }
        lastWritten = now
        defer { pending = [:] }
        return pending
    }
}
