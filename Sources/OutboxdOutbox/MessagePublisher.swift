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

    /// Events on their way, with what the stream handed them under.
    final class Flight: Sendable {
        let tickets: [Int]
        let events: [Event]
        /// For each event, its message's index in `deliveries`; nil when it was not produced.
        let produced: [Int?]
        let deliveries: DeliveryBatch
        /// The contents' bytes, for the source's bound on what is in flight.
        let bytes: Int

        init(tickets: [Int], events: [Event], produced: [Int?], deliveries: DeliveryBatch) {
            self.tickets = tickets
            self.events = events
            self.produced = produced
            self.deliveries = deliveries
            bytes = events.reduce(0) { $0 + $1.content.count }
        }

        var isComplete: Bool { deliveries.isComplete }
    }

    /// A message read as an event (`row`), or why it cannot be one.
    struct Event: Sendable {
        let message: OutboxEventMessage?
        let lsn: LSN
        let content: [UInt8]
        let row: OutboxRow?
        let unreadable: String?
    }

    /// Produces the events of `messages` (contents with their positions) without waiting; an
    /// unreadable one is not produced (`record` parks it), nor are the later ones of its key.
    /// `onComplete` runs once every report is in.
    func send(_ messages: [WalStream.Message], tickets: [Int], onComplete: @escaping @Sendable () -> Void) -> Flight {
        let format = configuration.format
        let events = messages.map { message -> Event in
            do {
                let event = try OutboxEventMessage(content: message.content, lsn: message.lsn)
                do {
                    return Event(message: event, lsn: message.lsn, content: message.content, row: try OutboxRow(message: event, format: format), unreadable: nil)
                } catch {
                    return Event(message: event, lsn: message.lsn, content: message.content, row: nil, unreadable: "the relay cannot read this event: \(error)")
                }
            } catch {
                return Event(message: nil, lsn: message.lsn, content: message.content, row: nil,
                             unreadable: "a message with prefix \(OutboxEventMessage.prefix) that is not an event: \(error)")
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
        return Flight(tickets: tickets, events: events, produced: produced, deliveries: deliveries)
    }

    /// Once `flight` is complete: counts the delivered events and writes the others as outbox
    /// rows (on `connection`, a plain session); returns how many rows it wrote. After it returns,
    /// every event of the flight is delivered or a row: its transactions' position may be confirmed.
    func record(_ flight: Flight, on connection: PQConnection) throws -> Int {
        let results = flight.deliveries.results(waitingUpTo: .zero)
        var undelivered: [UndeliveredEvent] = []
        var latencies: [Double] = []
        for (event, index) in zip(flight.events, flight.produced) {
            guard let row = event.row, let index else {
                undelivered.append(undeliveredEvent(event, error: event.unreadable ?? "not produced: an earlier event of its key was not delivered",
                                                    park: event.unreadable != nil))
                continue
            }
            switch results[index] {
            case .delivered(_, _, let reportedAt):
                metrics.published.increment([row.topic])
                latencies.append(Double(reportedAt.microsecondsSinceEpoch - row.createdAt.microsecondsSinceEpoch) / 1_000_000)
            case .failed(let error):
                metrics.failures.increment([error.code.name])
                undelivered.append(undeliveredEvent(event, error: error.description, park: error.isPermanent))
            case .notProduced, .unknown:
                undelivered.append(undeliveredEvent(event, error: "not produced: an earlier event of its key was not delivered", park: false))
            }
        }
        metrics.latency.observe(latencies)
        guard !undelivered.isEmpty else { return 0 }
        let dispositions = try OutboxStore(connection: connection).storeUndelivered(undelivered, maxAttempts: configuration.maxAttempts)
        var rows = 0
        for (event, disposition) in zip(undelivered, dispositions) {
            switch disposition {
            case .existing:
                logger.notice("emitted event read again is an outbox row already", ["event_id": event.message?.eventID ?? "none"])
            case .row, .unreadable:
                rows += 1
                let parks = disposition == .unreadable || event.park || configuration.maxAttempts <= 1
                if parks { metrics.parked.increment() }
                logger.log(parks ? .error : .warning,
                           disposition == .unreadable ? "emitted message parked as an outbox row with its content (\(UndeliveredEvent.unreadableType))"
                               : parks ? "emitted event not delivered; parked as an outbox row" : "emitted event not delivered; written as an outbox row, which the relay retries",
                           ["event_id": event.message?.eventID ?? "none", "lsn": "\(event.lsn)", "error": event.error])
            }
        }
        return rows
    }

    private func undeliveredEvent(_ event: Event, error: String, park: Bool) -> UndeliveredEvent {
        let delay = park ? 0 : configuration.backoff.delay(afterFailures: 1, jitter: Double.random(in: 0...1)).wholeMilliseconds
        return UndeliveredEvent(message: event.message, content: event.content, lsn: event.lsn, error: error, delayMilliseconds: delay,
                                park: park || event.message == nil)
    }
}
