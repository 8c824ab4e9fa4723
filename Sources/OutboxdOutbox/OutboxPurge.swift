import OutboxdCore
import OutboxdPostgres

/// Deletes published rows older than the retention (`OUTBOX_RETENTION`), `batch` rows per
/// statement, each in its own short transaction; run by a `PeriodicWorker` every
/// `RelayConfiguration.purgeInterval` in each process that runs a relay, and again at once while
/// a full batch was deleted. Pending and parked rows are never touched (`published_at` is null).
/// Not started when retention is 0 (the relay deletes rows as it publishes them).
public struct OutboxPurge: PeriodicJob {
    public let name = "outbox-purge"
    public let retention: Duration
    public let batch: Int
    private let logger = Logger(label: "outbox-purge")

    public init(retention: Duration, batch: Int = 1000) {
        self.retention = retention
        self.batch = batch
    }

    /// The worker that runs the purge for `configuration`, or nil when no history is kept.
    public static func worker(for configuration: RelayConfiguration, database: PostgresPoolConfiguration) -> PeriodicWorker? {
        guard configuration.retention > .zero else { return nil }
        return PeriodicWorker(job: OutboxPurge(retention: configuration.retention), database: database, interval: configuration.purgeInterval)
    }

    public func runOnce(on connection: PQConnection) throws -> Bool {
        let purged = try OutboxStore(connection: connection).purge(olderThan: retention, limit: batch)
        if purged > 0 { logger.info("purged published rows", ["rows": "\(purged)"]) }
        return purged == batch
    }
}
