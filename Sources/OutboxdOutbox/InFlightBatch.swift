import OutboxdKafka
import OutboxdPostgres

/// A claimed batch whose transaction is still open on `connection` (its rows locked) while Kafka
/// delivers its messages. Owned by the relay thread.
struct InFlightBatch {
    let connection: PQConnection
    let rows: [OutboxRow]
    let deliveries: DeliveryBatch
    /// Keys blocked by the batch finished while this one was in flight (see `RelayBatchOutcome`).
    var heldKeys: Set<String> = []
}
