import OutboxdCore
import OutboxdKafka
import OutboxdPostgres

/// One of the relay's two database connections and the I/O under way on it, for the lane of the
/// same index in `RelayPipeline`. Owned by the relay thread.
struct RelayLane {
    let connection: PQConnection
    /// BEGIN and the claim, sent; their rows not read yet.
    var claim: PendingPipeline?
    /// The reports of the batch produced from this lane's claim.
    var deliveries: DeliveryBatch?
    var producedAt = Timestamp.now()
    /// The ids of the rows claimed, all of them: those not delivered go back to the queue.
    var claimedIDs: [Int64] = []
    /// The record and COMMIT, sent; their results not read yet.
    var record: PendingPipeline?
    var outcome: RelayBatchOutcome?

    init(_ connection: PQConnection) {
        self.connection = connection
    }

    var store: OutboxStore { OutboxStore(connection: connection) }
}
