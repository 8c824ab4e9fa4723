import OutboxdCore
import OutboxdKafka
import OutboxdOutbox
import OutboxdPostgres
import Synchronization

/// The relay as a `Worker` of the daemon's group: `Relay` runs its own thread (`run`,
/// `stop(drainTimeout:)`) and reports a fatal producer error through `onFailure`, which this
/// adapter turns into an end by itself (the group's policy: exit 75). Its stop drains until the
/// group's deadline.
final class RelayWorker: Worker {
    let name = "relay"
    let relay: Relay
    private let lifecycle: Lifecycle
    /// `Relay.stop` waits on one signal of its thread: it is called once.
    private let stopCalled = Atomic<Bool>(false)

    /// Shared with the relay's `onFailure`, which the initialiser hands over before `self` exists.
    private final class Lifecycle: Sendable {
        let state = Mutex(WorkerState())
        let ended = Mutex<(@Sendable (WorkerEnd) -> Void)?>(nil)

        func failed(_ reason: String) {
            guard state.withLock({ $0.ended(.failed(reason)) }) else { return }
            ended.withLock { $0 }?(.failed(reason))
        }
    }

    init(configuration: RelayConfiguration, database: PostgresPoolConfiguration, producer: RDKafkaProducer,
         afterPublished: @escaping @Sendable () -> Void) {
        let lifecycle = Lifecycle()
        self.lifecycle = lifecycle
        relay = Relay(configuration: configuration, database: database, producer: producer,
                      onFailure: { [lifecycle] in lifecycle.failed($0) }, afterPublished: afterPublished)
    }

    func start(ended: @escaping @Sendable (WorkerEnd) -> Void) {
        lifecycle.ended.withLock { $0 = ended }
        guard lifecycle.state.withLock({ $0.start() }) else { return }
        relay.run()
    }

    /// `Relay.stop` bounds its drain by the deadline; the batch in flight finishes within the
    /// delivery timeout. After a fatal error it still waits for the relay's thread to end.
    @discardableResult
    func stop(deadline: ContinuousClock.Instant?) -> Bool {
        let started = lifecycle.state.withLock { state -> Bool in
            let started = state.phase != .idle
            _ = state.stop()
            return started
        }
        guard started, !stopCalled.exchange(true, ordering: .acquiringAndReleasing) else { return true }
        relay.stop(drainTimeout: deadline.map { max($0 - .now, .zero) } ?? .seconds(3600))
        lifecycle.state.withLock { state in
            if state.phase == .stopping { _ = state.ended(.returned) }
        }
        return true
    }
}
