import OutboxdCore
import OutboxdKafka
import OutboxdPostgres

/// The sink for events that exist only in the WAL (`outbox_emit_message`, issue #27): produces
/// them as the records their rows would have been, and once every report is in, writes each one
/// that was not delivered as an outbox row with its error (retried by the relay, or parked), so
/// nothing is dropped silently. Knows nothing of the slot: `WalSource` confirms a transaction's
/// position once `record` has returned for its flight.
///
/// Per-key order holds among one key's events emitted this way (one producer, chained by key);
/// it does not hold between a key's rows and its messages, and an event that becomes a row is
/// published after the later events of its key.
public final class MessagePublisher: Sendable {
    private let producer: RDKafkaProducer
    private let configuration: RelayConfiguration
    private let metrics: RelayMetrics
    private let logger = Logger(label: "relay.wal")

    /// `metrics`: the relay's, so `outboxd_relay_published_total` counts both kinds of event.
    public init(producer: RDKafkaProducer, configuration: RelayConfiguration, metrics: RelayMetrics) {
        self.producer = producer
        self.configuration = configuration
        self.metrics = metrics
    }

    /// One transaction's events on their way.
    final class Flight: Sendable {
        let events: [Event]
        /// For each event, its message's index in `deliveries`; nil when it was not produced.
        let produced: [Int?]
        let deliveries: DeliveryBatch

        init(events: [Event], produced: [Int?], deliveries: DeliveryBatch) {
            self.events = events
            self.produced = produced
            self.deliveries = deliveries
        }

        var isComplete: Bool { deliveries.isComplete }
    }

    /// A message read as an event (`row`), or why it cannot be one.
    struct Event: Sendable {
        let message: OutboxEventMessage?
        let lsn: LSN
        let row: OutboxRow?
        let unreadable: String?
        /// The content as read, for the row of a message that is not an event.
        let content: [UInt8]
    }

    /// Produces the events of `messages` (raw contents with their positions) without waiting; an
    /// unreadable one is not produced (it is parked by `record`), nor are the later ones of its key.
    func send(_ messages: [(lsn: LSN, content: [UInt8])], onComplete: @escaping @Sendable () -> Void) -> Flight {
        let format = configuration.format
        let events = messages.map { lsn, content -> Event in
            do {
                let message = try OutboxEventMessage(content: content, lsn: lsn)
                do {
                    return Event(message: message, lsn: lsn, row: try OutboxRow(message: message, format: format), unreadable: nil, content: [])
                } catch {
                    return Event(message: message, lsn: lsn, row: nil, unreadable: "the relay cannot read this event: \(error)", content: [])
                }
            } catch {
                return Event(message: nil, lsn: lsn, row: nil, unreadable: "a message with prefix \(OutboxEventMessage.prefix) that is not an event: \(error)",
                             content: content)
            }
        }
        // Unreadable events are not produced; the later ones of their key wait for them (G3).
        var blockedKeys: Set<String> = []
        var producible: [OutboxRow] = []
        var produced: [Int?] = []
        for event in events {
            guard let row = event.row, !blockedKeys.contains(row.aggregateID) else {
                if let key = event.message?.key { blockedKeys.insert(key) }
                produced.append(nil)
                continue
            }
            produced.append(producible.count)
            producible.append(row)
        }
        for row in producible { row.logDroppedHeaders(logger) }
        var chainOfKey: [String: Int] = [:]
        let chains = producible.map { row in chainOfKey.firstValue(for: row.aggregateID, storing: chainOfKey.count) }
        let deliveries = producer.produce(producible.map { $0.message(format) }, chains: chains, onComplete: onComplete)
        return Flight(events: events, produced: produced, deliveries: deliveries)
    }

    /// Once `flight` is complete: counts the delivered events and writes the others as outbox
    /// rows (on `connection`, a plain session); returns how many it wrote. After it returns,
    /// every event of the flight is delivered or a row: the transaction's position may be confirmed.
    func record(_ flight: Flight, on connection: PQConnection) throws -> Int {
        let results = flight.deliveries.results(waitingUpTo: .zero)
        var undelivered: [UndeliveredEvent] = []
        var latencies: [Double] = []
        for (event, index) in zip(flight.events, flight.produced) {
            guard let row = event.row, let index else {
                undelivered.append(undeliveredEvent(event, error: event.unreadable ?? "not produced: an earlier event of its key was not delivered",
                                                    park: event.unreadable != nil, attempts: 1))
                continue
            }
            switch results[index] {
            case .delivered(_, _, let reportedAt):
                metrics.published.increment([row.topic])
                latencies.append(Double(reportedAt.microsecondsSinceEpoch - row.createdAt.microsecondsSinceEpoch) / 1_000_000)
            case .failed(let error):
                metrics.failures.increment([error.code.name])
                undelivered.append(undeliveredEvent(event, error: error.description, park: error.isPermanent, attempts: 1))
            case .notProduced, .unknown:
                undelivered.append(undeliveredEvent(event, error: "not produced: an earlier event of its key was not delivered", park: false, attempts: 1))
            }
        }
        metrics.latency.observe(latencies)
        guard !undelivered.isEmpty else { return 0 }
        let existing = try OutboxStore(connection: connection).storeUndelivered(undelivered, maxAttempts: configuration.maxAttempts)
        for event in undelivered {
            let parked = event.park || configuration.maxAttempts <= 1
            if parked { metrics.parked.increment() }
            let known = event.eventID.map(existing.contains) ?? false
            logger.log(parked ? .error : .warning,
                       known ? "emitted event not delivered; it is an outbox row already" : parked ? "emitted event parked as an outbox row"
                           : "emitted event not delivered; written as an outbox row, which the relay retries",
                       ["event_id": event.eventID ?? "none", "error": event.error])
        }
        return undelivered.count
    }

    private func undeliveredEvent(_ event: Event, error: String, park: Bool, attempts: Int) -> UndeliveredEvent {
        let delay = park ? 0 : configuration.backoff.delay(afterFailures: attempts, jitter: Double.random(in: 0...1)).wholeMilliseconds
        guard let message = event.message else {
            return UndeliveredEvent(eventID: nil, topic: "", aggregateType: "outboxd.unreadable-message", key: "\(event.lsn)",
                                    eventType: "outboxd.unreadable-message", payload: nil, payloadBytes: event.content, contentType: nil,
                                    messageKey: nil, messagePartition: nil, headers: "{}", error: error, delayMilliseconds: delay, park: true)
        }
        return UndeliveredEvent(eventID: message.eventID, topic: message.topic, aggregateType: message.aggregateType, key: message.key,
                                eventType: message.eventType, payload: message.payload, payloadBytes: message.payloadBytes,
                                contentType: message.contentType, messageKey: message.messageKey, messagePartition: message.messagePartition,
                                headers: message.headers, error: error, delayMilliseconds: delay, park: park)
    }
}
