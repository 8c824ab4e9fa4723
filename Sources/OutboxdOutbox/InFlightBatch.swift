import OutboxdCore
import OutboxdKafka
import OutboxdPostgres

/// A claimed batch whose transaction is still open on `connection` (its rows locked) while Kafka
/// delivers its messages. Owned by the relay thread.
struct InFlightBatch {
    let connection: PQConnection
    let rows: [OutboxRow]
    let deliveries: DeliveryBatch
    /// Taken just before the batch was produced.
    let producedAt: Timestamp
    /// Keys blocked by the batch recorded while this one was claimed: their rows were not produced
    /// (see `RelayBatchOutcome`).
    let heldKeys: Set<String>
}
