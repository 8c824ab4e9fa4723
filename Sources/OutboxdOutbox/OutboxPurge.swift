import OutboxdCore
import OutboxdPostgres

/// Deletes published rows older than the retention (`OUTBOX_RETENTION`), `batch` rows per
/// statement, each in its own short transaction; run by a `PeriodicWorker` every
/// `RelayConfiguration.purgeInterval` in each process that runs a relay, and again at once while
/// a full batch was deleted. Pending and parked rows are never touched (`published_at` is null).
/// With retention 0 (the relay deletes rows as it publishes them) it only drops the published
/// counts older than an hour (`outbox_published_counts`, which `outbox_backlog` reads), as it does
/// on every run.
public struct OutboxPurge: PeriodicJob {
    public let name = "outbox-purge"
    public let retention: Duration
    public let batch: Int
    private let logger = Logger(label: "outbox-purge")

    public init(retention: Duration, batch: Int = 1000) {
        self.retention = retention
        self.batch = batch
    }

    /// The worker that runs the purge for `configuration`.
    public static func worker(for configuration: RelayConfiguration, database: PostgresPoolConfiguration) -> PeriodicWorker {
        PeriodicWorker(job: OutboxPurge(retention: configuration.retention), database: database, interval: configuration.purgeInterval)
    }

    public func runOnce(on connection: PQConnection) throws -> Bool {
        let store = OutboxStore(connection: connection)
        _ = try store.expireCounts()
        guard retention > .zero else { return false }
        let purged = try store.purge(olderThan: retention, limit: batch)
        if purged > 0 { logger.info("purged published rows", ["rows": "\(purged)"]) }
        return purged == batch
    }
}
