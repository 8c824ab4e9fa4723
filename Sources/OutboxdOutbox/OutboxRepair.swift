import Foundation
import OutboxdCore
import OutboxdPostgres

/// The operators' repairs: the functions of migration 0006 (`outbox_retry`, `outbox_retry_parked`,
/// `outbox_replay`), as `outboxd outbox retry | retry-parked | replay` runs them. Each returns how
/// many rows it made due and, when any, wakes the relay (the function's NOTIFY).
public enum OutboxRepair {
    /// Makes the unpublished events among `eventIDs` (parked or backing off) due now.
    public static func retry(_ eventIDs: [UUID], on connection: PQConnection) throws -> Int {
        try connection.query(retry, [eventIDs]).first?.require(Int.self, "n") ?? 0
    }

    /// Makes every event parked since `since` (nil: ever) due now.
    public static func retryParked(since: Timestamp?, on connection: PQConnection) throws -> Int {
        try connection.query(retryParked, [since]).first?.require(Int.self, "n") ?? 0
    }

    /// Queues the kept events published in [`from`, `to`) to be published again, under the same
    /// event ids. Throws (SQLSTATE 22023) unless `from` is before `to`.
    public static func replay(from: Timestamp, to: Timestamp, on connection: PQConnection) throws -> Int {
        try connection.query(replay, [from, to]).first?.require(Int.self, "n") ?? 0
    }

    static let retry = PostgresStatement(name: "outbox_repair_retry", plannedEachRun: true, sql: """
        SELECT outbox_retry($1::uuid[]) AS n
        """)

    static let retryParked = PostgresStatement(name: "outbox_repair_retry_parked", plannedEachRun: true, sql: """
        SELECT outbox_retry_parked(coalesce($1::timestamptz, '-infinity')) AS n
        """)

    static let replay = PostgresStatement(name: "outbox_repair_replay", plannedEachRun: true, sql: """
        SELECT outbox_replay($1, $2) AS n
        """)
}
