import CRdKafka
import OutboxdCore
import Synchronization

/// Sends a produced batch at once, in as few requests as librdkafka makes of it.
///
/// The producer lingers (`linger.ms`, default 5), so the messages of a batch queue up instead of
/// leaving one request per wake-up of a broker thread. Once a batch is queued, `produce` asks for a
/// kick and the poll thread flushes: while `rd_kafka_flush` runs, librdkafka's broker threads send
/// what is queued without waiting out the linger (librdkafka 1.8+, #3489), so a lone event does
/// not wait it either. A broker thread that wakes after the flush has returned would wait out the
/// linger, so the flush is repeated until the batch has every report, at most for the linger.
final class ProducerKick: Sendable {
    private let linger: Duration
    private let pending = Atomic<Bool>(false)
    /// The batch the next kick waits for: the latest produced.
    private let latest = Mutex<DeliveryBatch?>(nil)

    init(linger: Duration) {
        self.linger = linger
    }

    /// After `batch` is queued; true when the poll thread must be woken for it.
    func request(after batch: DeliveryBatch) -> Bool {
        latest.withLock { $0 = batch }
        return !pending.exchange(true, ordering: .acquiringAndReleasing)
    }

    /// On the poll thread: flushes when a kick is due, until the latest batch is complete or the
    /// linger has passed. Reports are served meanwhile (`rd_kafka_flush` polls).
    func serve(_ handle: RDKafkaHandle, signal: StopSignal) {
        guard pending.exchange(false, ordering: .acquiringAndReleasing),
              let batch = latest.withLock({ latest in defer { latest = nil }; return latest }) else { return }
        let until = ContinuousClock.now + linger
        repeat {
            _ = rd_kafka_flush(handle.raw, 1)
        } while !batch.isComplete && ContinuousClock.now < until && !signal.isStopping
    }
}
