import Foundation
import OutboxdCore
import OutboxdKafka
import OutboxdPostgres
import Synchronization

/// One consumer group on a thread of its own, with its own database connection: polls task
/// events, applies them with its handler in one transaction together with each event's inbox row
/// (what has arrived, up to 100 events per transaction), and only then stores their offsets (committed in the background, on revoke and on close).
/// A redelivered event finds its inbox row and changes nothing (G5). A handler that keeps failing
/// sends the event to `<topic>.dlq` after `maxAttempts`, as does a record that is not a task event;
/// either way the consumer moves on. Database outages are waited out, never dead-lettered.
public final class ConsumerRunner: Sendable {
    public let handler: any EventHandler
    private let configuration: ConsumerConfiguration
    private let database: PostgresPoolConfiguration
    private let kafka: KafkaClientConfiguration
    private let topic: String
    private let deadLetters: RDKafkaProducer
    private let logger: Logger
    private let wakeup = Wakeup()
    private let running = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let counters = Mutex(ConsumerProgress())

    public init(handler: any EventHandler, configuration: ConsumerConfiguration, database: PostgresPoolConfiguration,
                kafka: KafkaClientConfiguration, topic: String, deadLetters: RDKafkaProducer) {
        self.handler = handler
        self.configuration = configuration
        self.database = database
        self.kafka = kafka
        self.topic = topic
        self.deadLetters = deadLetters
        logger = Logger(label: "consumer.\(handler.name)")
    }

    public var groupID: String { configuration.groupPrefix + handler.name }
    public var deadLetterTopic: String { topic + ".dlq" }
    public var progress: ConsumerProgress { counters.withLock { $0 } }

    /// Starts the consumer thread.
    public func run() {
        running.store(true, ordering: .relaxed)
        let thread = Thread { [self] in
            loop()
            finished.signal()
        }
        thread.name = "consumer-\(handler.name)"
        thread.start()
    }

    /// Finishes the event in hand, commits stored offsets and leaves the group.
    public func stop() {
        guard running.exchange(false, ordering: .relaxed) else { return }
        wakeup.wake()
        finished.wait()
    }

    private var isRunning: Bool { running.load(ordering: .relaxed) }

    private func loop() {
        let consumer: RDKafkaConsumer
        do {
            consumer = try RDKafkaConsumer(configuration: kafka, groupID: groupID, topics: [topic], storeOffsetsAfterProcessing: true)
        } catch {
            logger.error("cannot start the consumer", ["error": "\(error)"])
            return
        }
        defer { consumer.close() }
        var connection: PQConnection?
        var lastPollError: (code: String, at: ContinuousClock.Instant)?
        var lastLagUpdate = ContinuousClock.now
        logger.notice("consuming", ["group": groupID, "topic": topic])
        while isRunning {
            if ContinuousClock.now - lastLagUpdate >= .seconds(1) {
                updateLag(consumer)
                lastLagUpdate = ContinuousClock.now
            }
            // What has arrived, up to `Self.batch` records: the first poll waits, the rest do not.
            var records: [KafkaRecord] = []
            do {
                while records.count < Self.batch, let record = try consumer.poll(timeout: records.isEmpty ? .milliseconds(100) : .zero) {
                    records.append(record)
                }
            } catch let error as KafkaError {
                // Broker down, unknown topic, max.poll.interval exceeded…: say so, at most every 10 s per code.
                if lastPollError.map({ $0.code != error.code.name || ContinuousClock.now - $0.at > .seconds(10) }) ?? true {
                    logger.warning("consumer error", ["group": groupID, "code": error.code.name, "error": error.message])
                    lastPollError = (error.code.name, ContinuousClock.now)
                }
                counters.withLock { $0.errors += 1 }
            } catch {}
            if records.isEmpty { continue }
            // Together in one transaction when every record is a task event and every effect
            // commits; otherwise one by one, so a failure (retries, dead letter) stays with its event.
            var done = records.count > 1 && applyTogether(records, connection: &connection)
            if !done {
                done = true
                for record in records {
                    guard process(record, connection: &connection) else { done = false; break }
                    store(record, in: consumer)
                }
                if !done { break }
            } else {
                records.forEach { store($0, in: consumer) }
            }
        }
        connection?.close()
    }

    /// Most records applied in one transaction.
    static let batch = 100

    private func store(_ record: KafkaRecord, in consumer: RDKafkaConsumer) {
        counters.withLock { $0.positions[record.partition] = record.offset + 1 }
        do {
            try consumer.storeOffset(of: record)
        } catch {
            logger.warning("cannot store the offset; the event will be seen again", ["error": "\(error)"])
        }
    }

    /// Records still to process per partition: the fetcher's high watermark minus the next offset
    /// to process, for the partitions this consumer has processed a record of.
    private func updateLag(_ consumer: RDKafkaConsumer) {
        let positions = counters.withLock { $0.positions }
        var lag: [Int32: Int64] = [:]
        for (partition, next) in positions {
            if let high = consumer.highWatermark(topic: topic, partition: partition) { lag[partition] = max(0, high - next) }
        }
        counters.withLock { $0.lag = lag }
    }

    /// Applies every record in one transaction (each with its inbox row); false, with nothing
    /// written, when a record is not a task event or anything fails.
    private func applyTogether(_ records: [KafkaRecord], connection: inout PQConnection?) -> Bool {
        guard let events = try? records.map({ try TaskEvent(record: $0) }) else { return false }
        do {
            if connection == nil || connection!.isBroken { connection = try database.connect() }
            try apply(events, on: connection!)
            return true
        } catch {
            if connection?.isBroken == true {
                connection?.close()
                connection = nil
            }
            return false
        }
    }

    /// Applies `record` once, or dead-letters it. Returns false when stopped before it was done
    /// (its offset is then not stored, so it is delivered again).
    private func process(_ record: KafkaRecord, connection: inout PQConnection?) -> Bool {
        let event: TaskEvent
        do {
            event = try TaskEvent(record: record)
        } catch {
            return deadLetter(record, error: error.description, attempts: 0)
        }
        var attempts = 0
        var outages = 0
        while isRunning {
            do {
                if connection == nil || connection!.isBroken { connection = try database.connect() }
                try apply([event], on: connection!)
                return true
            } catch let error as PostgresError where error.kind == .connectionUnavailable || connection?.isBroken == true {
                connection?.close()
                connection = nil
                outages += 1
                logger.warning("database unavailable; waiting", ["error": "\(error)"])
                wakeup.wait(timeout: backoff(outages))
            } catch {
                attempts += 1
                counters.withLock { $0.failures += 1 }
                if attempts >= configuration.maxAttempts {
                    return deadLetter(record, error: "\(error)", attempts: attempts)
                }
                logger.warning("handler failed; retrying", ["event_id": event.eventID.lowercaseString, "attempt": "\(attempts)", "error": "\(error)"])
                wakeup.wait(timeout: backoff(attempts))
            }
        }
        return false
    }

    /// Each event's inbox row and effect, all in one transaction; an event whose inbox row exists
    /// was applied before and is skipped. Counts both kinds once the transaction committed.
    private func apply(_ events: [TaskEvent], on connection: PQConnection) throws {
        let seenBefore = try connection.transaction {
            var seenBefore: [TaskEvent] = []
            for event in events {
                guard try connection.query(Self.recordInInbox, [handler.name, event.eventID]).affectedRows == 1 else {
                    seenBefore.append(event)
                    continue
                }
                try handler.apply(event, on: connection)
            }
            return seenBefore
        }
        for event in seenBefore { logger.debug("event already applied", ["event_id": event.eventID.lowercaseString]) }
        counters.withLock {
            $0.applied += events.count - seenBefore.count
            $0.duplicates += seenBefore.count
        }
    }

    private func backoff(_ failures: Int) -> Duration {
        min(configuration.retryBackoff * (1 << min(failures - 1, 10)), .seconds(5))
    }

    /// Produces the record to `<topic>.dlq` with its headers and why; retried until it is
    /// delivered or the consumer stops.
    private func deadLetter(_ record: KafkaRecord, error: String, attempts: Int) -> Bool {
        var headers = record.headers
        headers += [
            ("dlq_consumer", Array(handler.name.utf8)), ("dlq_error", Array(error.prefix(1000).utf8)),
            ("dlq_attempts", Array("\(attempts)".utf8)),
            ("dlq_source", Array("\(record.topic)/\(record.partition)/\(record.offset)".utf8)),
        ]
        let message = KafkaMessage(topic: deadLetterTopic, key: record.key, value: record.value, headers: headers)
        var failures = 0
        while isRunning {
            if case .delivered = deadLetters.send([message], timeout: .seconds(30))[0] {
                counters.withLock { $0.deadLettered += 1 }
                logger.error("event sent to the dead-letter topic", ["topic": deadLetterTopic, "source": "\(record.topic)/\(record.partition)/\(record.offset)",
                                                                       "attempts": "\(attempts)", "error": error])
                return true
            }
            failures += 1
            logger.warning("cannot produce to the dead-letter topic; retrying", ["topic": deadLetterTopic])
            wakeup.wait(timeout: backoff(failures))
        }
        return false
    }

    static let recordInInbox = PostgresStatement(name: "inbox_record", sql: """
        INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING
        """)
}

/// Counters of one consumer.
public struct ConsumerProgress: Sendable {
    public var applied = 0
    public var duplicates = 0
    public var failures = 0
    public var deadLettered = 0
    public var errors = 0
    /// The next offset to process, per partition processed so far.
    public var positions: [Int32: Int64] = [:]
    /// Records behind the partition's high watermark, updated about once a second.
    public var lag: [Int32: Int64] = [:]
}
