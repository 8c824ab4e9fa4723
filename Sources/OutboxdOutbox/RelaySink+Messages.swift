import OutboxdCore
import OutboxdKafka
import OutboxdPostgres

/// Events that exist only in the WAL (`outbox_emit_message`, issue #27), handed by `WalSource`:
/// produced as the records their rows would have been and decided by the same rules as claimed
/// rows (`RelayBatchOutcome`); once every report is in, each one not delivered is written as an
/// outbox row (retried by the relay, or parked), so nothing is dropped silently. The stream
/// confirms a transaction's position once `record` has returned for its flight.
///
/// Per-key order holds among one key's events emitted this way (`RelayBatchOutcome.Planner`, one
/// producer); it does not hold between a key's rows and its messages.
extension RelaySink {
    /// Events on their way, with what the stream handed them under.
    final class Flight: Sendable {
        let tickets: [Int]
        let events: [Event]
        /// The readable events as rows, their id the event's index in `events`.
        let rows: [OutboxRow]
        let dispositions: [RowDisposition]
        let deliveries: DeliveryBatch
        /// The contents' bytes, for the source's bound on what is in flight.
        let bytes: Int

        init(tickets: [Int], events: [Event], rows: [OutboxRow], dispositions: [RowDisposition], deliveries: DeliveryBatch) {
            self.tickets = tickets
            self.events = events
            self.rows = rows
            self.dispositions = dispositions
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

    /// Produces the events of `messages` (contents with their positions) without waiting, planned
    /// like a claimed batch; an unreadable one is not produced (`record` parks it), and holds the
    /// later ones of its key. `onComplete` runs once every report is in.
    func send(_ messages: [WalStream.Message], tickets: [Int], onComplete: @escaping @Sendable () -> Void) -> Flight {
        let format = configuration.format
        let events = messages.enumerated().map { index, message -> Event in
            do {
                let event = try OutboxEventMessage(content: message.content, lsn: message.lsn)
                do {
                    return Event(message: event, lsn: message.lsn, content: message.content,
                                 row: try OutboxRow(message: event, format: format, id: Int64(index)), unreadable: nil)
                } catch {
                    return Event(message: event, lsn: message.lsn, content: message.content, row: nil, unreadable: "the relay cannot read this event: \(error)")
                }
            } catch {
                return Event(message: nil, lsn: message.lsn, content: message.content, row: nil,
                             unreadable: "a message with prefix \(OutboxEventMessage.prefix) that is not an event: \(error)")
            }
        }
        var planner = RelayBatchOutcome.Planner()
        var rows: [OutboxRow] = []
        var dispositions: [RowDisposition] = []
        for event in events {
            guard let row = event.row else {
                if let key = event.message?.key { planner.block(key) }
                continue
            }
            rows.append(row)
            dispositions.append(planner.disposition(of: row))
        }
        let deliveries = produce(RelayBatchOutcome.produced(rows, dispositions), onComplete: onComplete)
        return Flight(tickets: tickets, events: events, rows: rows, dispositions: dispositions, deliveries: deliveries)
    }

    /// Once `flight` is complete: counts the delivered events and writes the others as outbox
    /// rows on `connection` (a plain session): failed ones with their attempt (parked when the
    /// error is permanent), held ones as plain rows, unreadable ones parked with their content.
    /// Returns how many rows it wrote. After it returns, every event of the flight is delivered
    /// or a row: its transactions' position may be confirmed.
    func record(_ flight: Flight, on connection: PQConnection) throws -> Int {
        let outcome = RelayBatchOutcome(rows: flight.rows, dispositions: flight.dispositions,
                                        results: flight.deliveries.results(waitingUpTo: .zero), producerFailed: fatalError != nil)
        var undelivered: [UndeliveredEvent] = []
        var failures: [Int: (error: String, park: Bool)] = [:]
        for failure in outcome.failed { failures[Int(failure.id)] = (failure.error, failure.park) }
        let held = Set(outcome.held.map(Int.init))
        for (index, event) in flight.events.enumerated() {
            if let unreadable = event.unreadable {
                undelivered.append(undeliveredEvent(event, index: index, error: unreadable, park: true, failed: true))
            } else if let failure = failures[index] {
                undelivered.append(undeliveredEvent(event, index: index, error: failure.error, park: failure.park, failed: true))
            } else if held.contains(index) {
                undelivered.append(undeliveredEvent(event, index: index, error: "held: no delivery report, or an earlier event of its key was not delivered",
                                                    park: false, failed: false))
            }
        }
        let stored = undelivered.isEmpty ? [] : try OutboxStore(connection: connection).storeUndelivered(undelivered, maxAttempts: configuration.maxAttempts)
        var storedAs: [Int: OutboxStore.UndeliveredDisposition] = [:]
        for (event, disposition) in zip(undelivered, stored) { storedAs[event.index] = disposition }
        // Counted once: an event read again after a restart is a row already (`.existing`).
        for failure in outcome.failed where storedAs[Int(failure.id)] != .existing {
            metrics.failures.increment([failure.reason])
        }
        let published = dueCounts(adding: outcome.deliveredPerTopic, now: .now)
        do {
            if !published.isEmpty { try OutboxStore(connection: connection).countPublished(published) }
        } catch {
            // Written with the next record; the flight is recorded already.
            restoreCounts(published)
            logger.warning("published counts not written; kept for the next write", ["error": "\(error)"])
        }
        // No NOTIFY: other processes' delivery watches read the table, where these events are not.
        countDelivered(outcome, notify: false) { index in ("event_id", flight.events[Int(index)].message?.eventID ?? "none") }
        var rows = 0
        for (event, disposition) in zip(undelivered, stored) {
            switch disposition {
            case .existing:
                logger.notice("emitted event read again is an outbox row already", ["event_id": event.message?.eventID ?? "none"])
            case .row, .unreadable:
                rows += 1
                let parks = disposition == .unreadable || event.park || (event.failed && configuration.maxAttempts <= 1)
                if parks { metrics.parked.increment() }
                logger.log(parks ? .error : event.failed ? .warning : .notice,
                           disposition == .unreadable ? "emitted message parked as an outbox row with its content (\(UndeliveredEvent.unreadableType))"
                               : parks ? "emitted event not delivered; parked as an outbox row"
                               : event.failed ? "emitted event not delivered; written as an outbox row, which the relay retries"
                               : "emitted event held; written as an outbox row, which the relay publishes after the earlier events of its key",
                           ["event_id": event.message?.eventID ?? "none", "lsn": "\(event.lsn)", "error": event.error])
            }
        }
        return rows
    }

    private func undeliveredEvent(_ event: Event, index: Int, error: String, park: Bool, failed: Bool) -> UndeliveredEvent {
        let delay = park || !failed ? 0 : configuration.backoff.delay(afterFailures: 1, jitter: Double.random(in: 0...1)).wholeMilliseconds
        return UndeliveredEvent(message: event.message, content: event.content, lsn: event.lsn, index: index, error: error, delayMilliseconds: delay,
                                park: park || event.message == nil, failed: failed || event.message == nil)
    }
}
