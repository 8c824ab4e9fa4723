import OutboxdCore
import OutboxdPostgres

/// Deletes published rows older than the retention (`OUTBOX_RETENTION`), `batch` rows per
/// statement, each in its own short transaction; run by a `PeriodicWorker` every
/// `RelayConfiguration.purgeInterval` in each process that runs a relay, and again at once while
/// it deleted any. Pending and parked rows are never touched (`published_at` is null).
/// With retention 0 (the relay deletes rows as it publishes them) it only drops the published
/// counts older than an hour (`outbox_published_counts`, which `outbox_backlog` reads), as it does
/// on every run.
public struct OutboxPurge: PeriodicJob {
    public let name = "outbox-purge"
    public let retention: Duration
    public let batch: Int
    private let logger = Logger(label: "outbox-purge")

    /// How many batches of the head each statement reads: rows published late (retried,
    /// replayed) wait at the head until they expire, and up to this many batches of them less one
    /// leave the purge of the rows behind them at full pace.
    static let windowBatches = 10

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
        try store.expireCounts()
        guard retention > .zero else { return false }
        let purged = try store.purge(olderThan: retention, limit: batch, window: batch * Self.windowBatches)
        if purged > 0 { logger.info("purged published rows", ["rows": "\(purged)"]) }
        return purged > 0
    }
}
