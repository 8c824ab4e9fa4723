import OutboxdPostgres

/// A batch whose mark (or delete) and COMMIT are sent on its connection, their results not read
/// yet: the relay produces the next batch meanwhile. Owned by the relay thread.
struct RecordingBatch {
    let batch: InFlightBatch
    let outcome: RelayBatchOutcome
    let pending: PendingPipeline

    var connection: PQConnection { batch.connection }
}
