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
public final class ConsumerRunner: Worker {
    public let handler: any EventHandler
    private let configuration: ConsumerConfiguration
    private let database: PostgresPoolConfiguration
    private let kafka: KafkaClientConfiguration
    private let topic: String
    private let deadLetters: RDKafkaProducer
    private let logger: Logger
    /// Woken by `stop`, so a backoff or a pause ends at once.
    private let wakeup: Wakeup
    /// Its thread fails when its Kafka consumer cannot be made, so the process does not go on as
    /// if the consumer ran (the daemon's `WorkerGroup` stops it, exit 75).
    private let thread: WorkerThread
    private let counters = Mutex(ConsumerProgress())

    public init(handler: any EventHandler, configuration: ConsumerConfiguration, database: PostgresPoolConfiguration,
                kafka: KafkaClientConfiguration, topic: String, deadLetters: RDKafkaProducer) {
        let wakeup = Wakeup()
        self.wakeup = wakeup
        thread = WorkerThread(name: "consumer-\(handler.name)", wakeup: wakeup)
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

    public var name: String { thread.name }
    public var phase: WorkerState.Phase { thread.phase }

    public func start(ended: @escaping @Sendable (WorkerEnd) -> Void) {
        thread.start(ended: ended) { [self] _ in try loop() }
    }

    /// Starts the consumer thread (its end by itself is seen only in `phase`).
    public func run() { start(ended: { _ in }) }

    /// Finishes the event in hand, commits stored offsets and leaves the group.
    @discardableResult
    public func stop(deadline: ContinuousClock.Instant?) -> Bool {
        thread.stop(deadline: deadline)
    }

    private var isRunning: Bool { !thread.signal.isStopping }

    private func loop() throws {
        var connection: PQConnection?
        defer { connection?.close() }
        // A consumer that could not rewind to an unfinished record is closed and made anew, so it
        // resumes from the group's committed offsets, which stop before that record.
        while isRunning, try consume(connection: &connection) {}
    }

    /// Consumes until stopped (false) or until the consumer must be made anew (true).
    /// Throws `ConsumerStartError` when the Kafka consumer cannot be made.
    private func consume(connection: inout PQConnection?) throws -> Bool {
        let consumer: RDKafkaConsumer
        do {
            consumer = try RDKafkaConsumer(configuration: kafka, groupID: groupID, topics: [topic], storeOffsetsAfterProcessing: true)
        } catch {
            logger.error("cannot start the consumer; the process stops", ["error": "\(error)"])
            throw ConsumerStartError(consumer: handler.name, underlying: error)
        }
        defer { consumer.close() }
        var lastPollError: (code: String, at: ContinuousClock.Instant)?
        var lastLagUpdate = ContinuousClock.now
        var deadLetterPauses = 0
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
                // A record whose dead letter could not be written is rewound with every later record
                // of its partition left unstored, and tried again after a pause, so it is neither
                // lost nor skipped, and the consumer keeps its place in the group meanwhile.
                done = true
                var rewound: Set<Int32> = []
                for record in records where !rewound.contains(record.partition) {
                    switch process(record, connection: &connection) {
                    case .done:
                        store(record, in: consumer)
                    case .stopped:
                        done = false
                    case .retryLater:
                        rewound.insert(record.partition)
                        guard rewind(record, in: consumer) else { return true }
                    }
                    if !done { break }
                }
                if !done { break }
                if !rewound.isEmpty {
                    deadLetterPauses += 1
                    wakeup.wait(timeout: min(configuration.retryBackoff * (1 << min(deadLetterPauses, 8)), Self.longestDeadLetterPause))
                } else {
                    deadLetterPauses = 0
                }
            } else {
                records.forEach { store($0, in: consumer) }
            }
        }
        return false
    }

    /// Most records applied in one transaction.
    static let batch = 100
    /// Attempts to produce one dead letter before the record is rewound and tried again later.
    static let deadLetterAttempts = 3
    /// Longest pause before a record whose dead letter failed is tried again; well below
    /// `max.poll.interval.ms` (300 s), so the consumer stays in its group.
    static let longestDeadLetterPause: Duration = .seconds(30)

    /// What became of one record.
    enum Outcome {
        /// Applied (or seen before, or dead-lettered): its offset may be stored.
        case done
        /// The consumer is stopping; the record is delivered again next time.
        case stopped
        /// Its dead letter could not be written: poll it again later.
        case retryLater
    }

    /// False when the seek failed: the partition would move past the record, so the consumer
    /// must start over from the group's committed position.
    private func rewind(_ record: KafkaRecord, in consumer: RDKafkaConsumer) -> Bool {
        do {
            try consumer.rewind(to: record)
            return true
        } catch {
            logger.error("cannot rewind to an unfinished record; restarting the consumer", ["error": "\(error)"])
            return false
        }
    }

    private func store(_ record: KafkaRecord, in consumer: RDKafkaConsumer) {
        counters.withLock { $0.positions[record.partition] = record.offset + 1 }
        do {
            try consumer.storeOffset(of: record)
        } catch {
            logger.warning("cannot store the offset; the event will be seen again", ["error": "\(error)"])
        }
    }

    /// Records still to process per partition: the fetcher's high watermark minus the next offset
    /// to process, for the partitions this consumer has processed a record of; and how many
    /// partitions the group gave this consumer.
    private func updateLag(_ consumer: RDKafkaConsumer) {
        let positions = counters.withLock { $0.positions }
        var lag: [Int32: Int64] = [:]
        for (partition, next) in positions {
            if let high = consumer.highWatermark(topic: topic, partition: partition) { lag[partition] = max(0, high - next) }
        }
        let assigned = consumer.assignedPartitionCount()
        counters.withLock {
            $0.lag = lag
            $0.assignedPartitions = assigned
        }
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

    /// Applies `record` once, or dead-letters it.
    private func process(_ record: KafkaRecord, connection: inout PQConnection?) -> Outcome {
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
                return .done
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
        return .stopped
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

    /// Produces the record to `<topic>.dlq` with its headers and why, in up to
    /// `deadLetterAttempts` tries; `.retryLater` when none is delivered (the topic is missing or
    /// refuses writes), counted in `deadLetterFailures`.
    private func deadLetter(_ record: KafkaRecord, error: String, attempts: Int) -> Outcome {
        var headers = record.headers
        headers += [
            ("dlq_consumer", Array(handler.name.utf8)), ("dlq_error", Array(error.prefix(1000).utf8)),
            ("dlq_attempts", Array("\(attempts)".utf8)),
            ("dlq_source", Array("\(record.topic)/\(record.partition)/\(record.offset)".utf8)),
        ]
        let message = KafkaMessage(topic: deadLetterTopic, key: record.key, value: record.value, headers: headers)
        let source = "\(record.topic)/\(record.partition)/\(record.offset)"
        for failures in 1...Self.deadLetterAttempts {
            guard isRunning else { return .stopped }
            let result = deadLetters.send([message], timeout: .seconds(30))[0]
            if case .delivered = result {
                counters.withLock { $0.deadLettered += 1 }
                logger.error("event sent to the dead-letter topic", ["topic": deadLetterTopic, "source": source, "attempts": "\(attempts)", "error": error])
                return .done
            }
            let why: String
            if case .failed(let failure) = result { why = failure.description } else { why = "no delivery report" }
            logger.warning("cannot produce to the dead-letter topic", ["topic": deadLetterTopic, "source": source, "try": "\(failures)", "error": why])
            if failures < Self.deadLetterAttempts { wakeup.wait(timeout: backoff(failures)) }
        }
        counters.withLock { $0.deadLetterFailures += 1 }
        logger.error("dead letter not written; the event stays unprocessed and is tried again later",
                     ["topic": deadLetterTopic, "source": source])
        return isRunning ? .retryLater : .stopped
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
    /// Records whose dead letter could not be written (each is tried again later).
    public var deadLetterFailures = 0
    public var errors = 0
    /// The next offset to process, per partition processed so far.
    public var positions: [Int32: Int64] = [:]
    /// Partitions the group assigned to this consumer (0 until it has joined), about once a second.
    public var assignedPartitions = 0
    /// Records behind the partition's high watermark, updated about once a second.
    public var lag: [Int32: Int64] = [:]
}
