import OutboxdCore
import OutboxdKafka
import Synchronization

/// The Kafka producer as the first `Worker` of the daemon's group, so it closes last: after the
/// relay and the consumers (which send dead letters with it) have stopped, it flushes for what is
/// left of the deadline (at least 100 ms) and stops its poll thread. When a part that uses it
/// was left running at the deadline (`othersLeftRunning`), its handle is not destroyed.
final class ProducerWorker: Worker {
    let name = "kafka-producer"
    let producer: RDKafkaProducer
    private let othersLeftRunning: @Sendable () -> Bool
    private let closed = Mutex(false)

    init(producer: RDKafkaProducer, othersLeftRunning: @escaping @Sendable () -> Bool) {
        self.producer = producer
        self.othersLeftRunning = othersLeftRunning
    }

    /// The producer runs from its creation.
    func start(ended: @escaping @Sendable (WorkerEnd) -> Void) {}

    @discardableResult
    func stop(deadline: ContinuousClock.Instant?) -> Bool {
        guard !closed.withLock({ closed in defer { closed = true }; return closed }) else { return true }
        let flush = max((deadline ?? .now + .seconds(10)) - .now, .milliseconds(100))
        if othersLeftRunning() { producer.closeKeepingHandle(flushTimeout: flush) } else { producer.close(flushTimeout: flush) }
        return true
    }
}
