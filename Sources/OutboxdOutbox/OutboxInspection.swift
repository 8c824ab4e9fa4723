import Foundation
import OutboxdPostgres

/// What operators and monitoring read about the outbox: the pending count (`/readyz`, the systemd
/// status line), the backlog per topic (`/metrics`), and the views of migration 0006 as the CLI's
/// `outboxd outbox status | pending | parked | show` print them (rows as PostgreSQL's text, so
/// the CLI renders any column).
public enum OutboxInspection {
    /// The rows waiting in one topic.
    public struct TopicBacklog: Sendable, Equatable {
        public let topic: String
        /// Pending: neither published nor parked (due now or backing off).
        public let pending: Int
        /// Seconds since the oldest pending row was written; 0 when none is pending.
        public let oldestPendingAge: Double
        public let parked: Int

        public init(topic: String, pending: Int, oldestPendingAge: Double, parked: Int) {
            self.topic = topic
            self.pending = pending
            self.oldestPendingAge = oldestPendingAge
            self.parked = parked
        }
    }

    public static func pendingCount(on connection: PQConnection) throws -> Int {
        try connection.query(pendingCount).first?.require(Int.self, "n") ?? 0
    }

    /// The topics with pending or parked rows, in no particular order.
    public static func backlogByTopic(on connection: PQConnection) throws -> [TopicBacklog] {
        try connection.query(backlogByTopic).map { row in
            TopicBacklog(topic: try row.require(String.self, "topic"), pending: try row.require(Int.self, "pending"),
                         oldestPendingAge: try row.require(Double.self, "oldest_age"), parked: try row.require(Int.self, "parked"))
        }
    }

    /// `outbox_backlog` by topic: pending, oldest pending (whole seconds, text), parked, published
    /// in the last minute and hour.
    public static func status(on connection: PQConnection) throws -> PostgresRows {
        try connection.query(status)
    }

    /// The first `limit` pending rows in claim order.
    public static func pending(limit: Int, on connection: PQConnection) throws -> PostgresRows {
        try connection.query(pending, [limit])
    }

    /// The first `limit` parked rows in claim order.
    public static func parked(limit: Int, on connection: PQConnection) throws -> PostgresRows {
        try connection.query(parked, [limit])
    }

    /// Every column of the event's row, payload and headers as JSON text; nil when no row has this
    /// id (never written, or purged after its retention).
    public static func event(_ eventID: UUID, on connection: PQConnection) throws -> PostgresRow? {
        try connection.query(event, [eventID]).first
    }

    /// Reads `outbox_queue_ready_idx` only.
    static let pendingCount = PostgresStatement(name: "outbox_pending_count", sql: """
        SELECT count(*)::int AS n FROM outbox_queue WHERE \(OutboxPredicate.ready)
        """)

    /// Reads the queue (migration 0014) and the outbox rows it names, so a scrape reads the rows
    /// waiting, never the published history. A `created_at` no interval reaches (infinity,
    /// written around the checks) has no age instead of failing the scrape.
    static let backlogByTopic = PostgresStatement(name: "outbox_backlog_by_topic", sql: """
        SELECT o.topic, count(*) FILTER (WHERE q.ready)::int AS pending,
               coalesce(extract(epoch FROM now() - min(o.created_at) FILTER (WHERE q.ready AND isfinite(o.created_at))), 0)::float8 AS oldest_age,
               count(*) FILTER (WHERE NOT q.ready)::int AS parked
        FROM (SELECT id, \(OutboxPredicate.ready) AS ready FROM outbox_queue) q JOIN outbox o ON o.id = q.id
        GROUP BY o.topic
        """)

    /// The view's published counts read `outbox_published_counts`, not the history.
    static let status = PostgresStatement(name: "outbox_inspect_status", plannedEachRun: true, sql: """
        SELECT topic, pending, coalesce(justify_interval(date_trunc('second', oldest_pending_age))::text, '') AS oldest_pending,
               parked, published_last_minute, published_last_hour FROM outbox_backlog ORDER BY topic
        """)

    static let pending = PostgresStatement(name: "outbox_inspect_pending", plannedEachRun: true, sql: """
        SELECT id, event_id, event_type, aggregate_id AS key, date_trunc('second', age)::text AS age, attempts,
               next_attempt_at, left(last_error, 80) AS last_error
        FROM outbox_pending ORDER BY id LIMIT $1
        """)

    static let parked = PostgresStatement(name: "outbox_inspect_parked", plannedEachRun: true, sql: """
        SELECT id, event_id, event_type, aggregate_id AS key, attempts, parked_at, left(last_error, 80) AS last_error
        FROM outbox_parked ORDER BY id LIMIT $1
        """)

    static let event = PostgresStatement(name: "outbox_inspect_event", plannedEachRun: true, sql: """
        SELECT id, event_id, topic, aggregate_type, aggregate_id AS key, message_key, message_partition, event_type, created_at,
               attempts, next_attempt_at, last_error, parked_at, published_at, kafka_partition, kafka_offset, content_type,
               headers::text AS headers, fields::text AS fields, tombstone, payload::text AS payload, octet_length(payload_bytes) AS payload_bytes_length,
               encode(substring(payload_bytes FOR 256), 'hex') AS payload_bytes_hex_256
        FROM outbox WHERE event_id = $1
        """)
}
