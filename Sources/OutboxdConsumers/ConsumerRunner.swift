import Foundation
import OutboxdCore
import OutboxdKafka
import OutboxdPostgres
import Synchronization

/// One consumer group on a thread of its own, with its own database connection: polls task
/// events (what has arrived, up to `batch`), applies them in one transaction in a constant number
/// of statements (their inbox rows in one, then the handler's for the new ones; one round trip),
/// and only then stores their offsets (committed in the background, on revoke and on close).
/// A batch that fails is applied again one event at a time, so a failure stays with its event.
/// A redelivered event finds its inbox row and changes nothing (G5). A handler that keeps failing
/// sends the event to `<topic>.dlq` after `maxAttempts`, as does a record that is not a task event
/// (a dead letter Kafka refuses for good is kept in `consumer_dead_letters` instead); a tombstone
/// is skipped; either way the consumer moves on. Database outages are waited out, never
/// dead-lettered. `stalls` names the partitions that have records to process but processed none
/// for `stallTimeout`.
public final class ConsumerRunner: Worker {
    public let handler: any EventHandler
    private let configuration: ConsumerConfiguration
    let database: PostgresPoolConfiguration
    private let kafka: KafkaClientConfiguration
    private let topic: String
    let deadLetters: RDKafkaProducer
    let logger: Logger
    /// Woken by `stop`, so a backoff or a pause ends at once.
    let wakeup: Wakeup
    /// Its thread fails when its Kafka consumer cannot be made, so the process does not go on as
    /// if the consumer ran (the daemon's `WorkerGroup` stops it, exit 75).
    private let thread: WorkerThread
    let counters = Mutex(ConsumerProgress())
    private let stallWatch: Mutex<StallWatch>
    /// Where the effect latency is observed (shared by the consumers of a process).
    public let metrics: ConsumerMetrics

    public init(handler: any EventHandler, configuration: ConsumerConfiguration, database: PostgresPoolConfiguration,
                kafka: KafkaClientConfiguration, topic: String, deadLetters: RDKafkaProducer, metrics: ConsumerMetrics = ConsumerMetrics()) {
        let wakeup = Wakeup()
        self.wakeup = wakeup
        thread = WorkerThread(name: "consumer-\(handler.name)", wakeup: wakeup)
        self.handler = handler
        self.configuration = configuration
        self.database = database
        self.kafka = kafka
        self.topic = topic
        self.deadLetters = deadLetters
        self.metrics = metrics
        stallWatch = Mutex(StallWatch(timeout: configuration.stallTimeout))
        logger = Logger(label: "consumer.\(handler.name)")
    }

    public var groupID: String { configuration.groupPrefix + handler.name }
    public var deadLetterTopic: String { topic + ".dlq" }
    public var progress: ConsumerProgress { counters.withLock { $0 } }
    /// The partitions that have had records to process for `stallTimeout` or longer and processed none.
    public var stalls: [StallWatch.Stall] { stallWatch.withLock { $0.stalls(at: .now) } }

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

    var isRunning: Bool { !thread.signal.isStopping }

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
        /// Records polled while the previous batch was being applied: the start of the next one.
        var ahead: [KafkaRecord] = []
        logger.notice("consuming", ["group": groupID, "topic": topic])
        while isRunning {
            if ContinuousClock.now - lastLagUpdate >= .seconds(1) {
                updateLag(consumer)
                lastLagUpdate = ContinuousClock.now
            }
            // What has arrived, up to `Self.batch` records: the first poll waits, the rest do not.
            var records = ahead
            ahead = []
            poll(consumer, into: &records, waiting: true, lastError: &lastPollError)
            if records.isEmpty { continue }
            // Together in one transaction when every record is a task event and every effect
            // commits; otherwise one by one, so a failure (retries, dead letter) stays with its event.
            // While PostgreSQL applies a batch, what has arrived since is taken in, without waiting.
            var done = records.count > 1 && applyTogether(records, connection: &connection) {
                poll(consumer, into: &ahead, waiting: false, lastError: &lastPollError)
            }
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
                // Seeking back dropped what the consumer had fetched of those partitions after the
                // record; what of it is in hand goes too, to come again after the record.
                ahead.removeAll { rewound.contains($0.partition) }
                if !rewound.isEmpty {
                    deadLetterPauses += 1
                    wakeup.wait(timeout: min(configuration.retryBackoff * (1 << min(deadLetterPauses, 8)), Self.longestDeadLetterPause))
                } else {
                    deadLetterPauses = 0
                }
            } else {
                // A partition's offsets are cumulative: its last record of the batch stands for all.
                var last: [Int32: KafkaRecord] = [:]
                for record in records { last[record.partition] = record }
                last.values.forEach { store($0, in: consumer) }
            }
        }
        return false
    }

    /// Appends what has arrived to `records`, up to `batch` in all; waits up to 100 ms for a first
    /// record only when `waiting` and none is in hand.
    private func poll(_ consumer: RDKafkaConsumer, into records: inout [KafkaRecord], waiting: Bool,
                      lastError: inout (code: String, at: ContinuousClock.Instant)?) {
        let first = records.count
        defer {
            if records.count > first {
                let now = ContinuousClock.now
                stallWatch.withLock { watch in
                    for record in records[first...] { watch.polled(partition: record.partition, offset: record.offset, at: now) }
                }
            }
        }
        do {
            while records.count < Self.batch,
                  let record = try consumer.poll(timeout: records.isEmpty && waiting ? .milliseconds(100) : .zero) {
                records.append(record)
            }
        } catch let error as KafkaError {
            // Broker down, unknown topic, max.poll.interval exceeded…: say so, at most every 10 s per code.
            if lastError.map({ $0.code != error.code.name || ContinuousClock.now - $0.at > .seconds(10) }) ?? true {
                logger.warning("consumer error", ["group": groupID, "code": error.code.name, "error": error.message])
                lastError = (error.code.name, ContinuousClock.now)
            }
            counters.withLock { $0.errors += 1 }
        } catch {}
    }

    /// Most records applied in one transaction.
    static let batch = 500
    /// Attempts to produce one dead letter before the record is rewound and tried again later.
    static let deadLetterAttempts = 3
    /// Longest pause before a record whose dead letter failed is tried again; well below
    /// `max.poll.interval.ms` (300 s), so the consumer stays in its group.
    static let longestDeadLetterPause: Duration = .seconds(30)

    /// What became of one record.
    enum Outcome {
        /// Applied, seen before, dead-lettered (to the topic or the table) or skipped: its offset may be stored.
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
        stallWatch.withLock { $0.processed(partition: record.partition, offset: record.offset, at: .now) }
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
        let assigned = consumer.assignedPartitions(of: topic)
        counters.withLock {
            $0.lag = lag
            $0.assignedPartitions = assigned.count
        }
        let now = ContinuousClock.now
        stallWatch.withLock { watch in
            watch.keep(only: assigned)
            for (partition, behind) in lag where assigned.contains(partition) { watch.lag(partition: partition, behind: behind, at: now) }
        }
    }

    /// What keeps `record` from being processed, for `stalls`.
    func problem(_ record: KafkaRecord, _ reason: String) {
        stallWatch.withLock { $0.problem(partition: record.partition, reason) }
    }

    /// Applies every record in one transaction (each with its inbox row), running `meanwhile`
    /// while PostgreSQL works on it; false, with nothing written, when a record is not a task
    /// event or anything fails.
    private func applyTogether(_ records: [KafkaRecord], connection: inout PQConnection?, meanwhile: () -> Void) -> Bool {
        guard let events = try? records.map({ try TaskEvent(record: $0) }) else { return false }
        do {
            if connection == nil || connection!.isBroken { connection = try database.connect() }
            let sent = try send(events, on: connection!)
            meanwhile()
            try finish(sent, on: connection!)
            return true
        } catch {
            if connection?.isBroken == true {
                connection?.close()
                connection = nil
            }
            return false
        }
    }

    /// Applies `record` once, or dead-letters it; skips a tombstone.
    private func process(_ record: KafkaRecord, connection: inout PQConnection?) -> Outcome {
        if record.isTombstone {
            // A deletion marker for log compaction (a Debezium-shape deployment may write them): no event.
            counters.withLock { $0.tombstones += 1 }
            logger.info("tombstone (null value) skipped: not a task event", ["source": "\(record.topic)/\(record.partition)/\(record.offset)"])
            return .done
        }
        let event: TaskEvent
        do {
            event = try TaskEvent(record: record)
        } catch {
            return deadLetter(record, reason: error.description, attempts: 0, connection: &connection)
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
                problem(record, "database unavailable")
                logger.warning("database unavailable; waiting", ["error": "\(error)"])
                wakeup.wait(timeout: backoff(outages))
            } catch {
                attempts += 1
                counters.withLock { $0.failures += 1 }
                if attempts >= configuration.maxAttempts {
                    return deadLetter(record, reason: "\(error)", attempts: attempts, connection: &connection)
                }
                problem(record, "handler failed (attempt \(attempts) of \(configuration.maxAttempts))")
                logger.warning("handler failed; retrying", ["event_id": event.eventID.lowercaseString, "attempt": "\(attempts)", "error": "\(error)"])
                wakeup.wait(timeout: backoff(attempts))
            }
        }
        return .stopped
    }

    /// Applies `events` in one transaction: their inbox rows in one statement, then the handler's
    /// statements for the events new to this consumer, all sent as one pipeline (one round trip)
    /// while none was seen before. When one was (the inbox refuses it), the transaction is rolled
    /// back and made again in two round trips: the inbox rows that are new (`RETURNING`), then the
    /// effects of just those. Counts, logs and measures the events once the transaction committed.
    func apply(_ events: [TaskEvent], on connection: PQConnection) throws {
        try finish(send(events, on: connection), on: connection)
    }

    /// A batch sent to PostgreSQL as one pipeline whose results are not read yet.
    struct SentBatch {
        /// As polled, duplicates included.
        let events: [TaskEvent]
        /// Each event once, in order.
        let distinct: [TaskEvent]
        let pending: PendingPipeline
    }

    /// Sends BEGIN, every event's inbox row (a plain INSERT, which fails when one exists), the
    /// effects of all and COMMIT, without waiting; nothing else may use the connection until `finish`.
    private func send(_ events: [TaskEvent], on connection: PQConnection) throws -> SentBatch {
        var ids = Set<UUID>()
        let distinct = events.filter { ids.insert($0.eventID).inserted }
        let effects = try handler.statements(applying: distinct)
        let pending = try connection.startPipeline(
            [.command("BEGIN"), .prepared(Self.recordInInbox, [handler.name, distinct.map(\.eventID)])] + effects + [.command("COMMIT")])
        return SentBatch(events: events, distinct: distinct, pending: pending)
    }

    /// Reads a sent batch's results; the rest of `apply`.
    private func finish(_ batch: SentBatch, on connection: PQConnection) throws {
        let applied: [TaskEvent]
        do {
            try inTransaction(on: connection) { _ = try connection.finishPipeline(batch.pending) }
            applied = batch.distinct
        } catch let error as PostgresError where error.code == .uniqueViolation && error.constraint == "inbox_pkey" && !connection.isBroken {
            applied = try applyWhatIsNew(batch.distinct, on: connection)
        }
        let distinct = batch.distinct, events = batch.events
        let committed = Timestamp.now()
        let appliedIDs = Set(applied.map(\.eventID))
        var latencies: [Double] = []
        latencies.reserveCapacity(applied.count)
        for event in distinct {
            guard appliedIDs.contains(event.eventID) else {
                logger.debug("event already applied", ["event_id": event.eventID.lowercaseString])
                continue
            }
            // An occurred_at after the commit (a clock ahead, another producer's time) counts as 0.
            latencies.append(max(0, Double(committed.microsecondsSinceEpoch - event.occurredAt.microsecondsSinceEpoch) / 1_000_000))
            if event.replacedNUL {
                logger.notice("event held NUL characters (U+0000), which PostgreSQL cannot store; applied with U+FFFD instead",
                              ["event_id": event.eventID.lowercaseString])
            }
            var fields = [(key: "event_id", value: event.eventID.lowercaseString), (key: "type", value: event.type)]
            if let traceID = event.traceID { fields.append((key: "trace_id", value: traceID)) }
            logger.log(.debug, "event applied", fields: fields)
        }
        metrics.effectLatency.observe(latencies, [handler.name])
        counters.withLock {
            $0.applied += applied.count
            $0.duplicates += events.count - applied.count
        }
    }

    /// Two round trips: BEGIN and the inbox rows not there yet (their event ids come back), then
    /// the effects of those events and COMMIT.
    private func applyWhatIsNew(_ events: [TaskEvent], on connection: PQConnection) throws -> [TaskEvent] {
        try inTransaction(on: connection) {
            let results = try connection.finishPipeline(connection.startPipeline(
                [.command("BEGIN"), .prepared(Self.recordNewInInbox, [handler.name, events.map(\.eventID)])]))
            let new = Set(try results[1].map { try $0.require(UUID.self, "event_id") })
            let fresh = events.filter { new.contains($0.eventID) }
            try connection.finishPipeline(connection.startPipeline(try handler.statements(applying: fresh) + [.command("COMMIT")]))
            return fresh
        }
    }

    /// Runs `body`, which begins and commits a transaction; rolls back what is left of it when
    /// `body` throws (a failed pipeline leaves the transaction aborted).
    private func inTransaction<T>(on connection: PQConnection, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            connection.rollbackIfPossible()
            throw error
        }
    }

    func backoff(_ failures: Int) -> Duration {
        min(configuration.retryBackoff * (1 << min(failures - 1, 10)), .seconds(5))
    }

    /// Fails (`inbox_pkey`) when an event was recorded before.
    static let recordInInbox = PostgresStatement(name: "inbox_record_batch", sql: """
        INSERT INTO inbox (consumer, event_id) SELECT $1, event_id FROM unnest($2::uuid[]) AS e(event_id)
        """)

    /// The events recorded now, i.e. not seen before.
    static let recordNewInInbox = PostgresStatement(name: "inbox_record_new_batch", sql: """
        INSERT INTO inbox (consumer, event_id) SELECT $1, event_id FROM unnest($2::uuid[]) AS e(event_id)
        ON CONFLICT DO NOTHING RETURNING event_id
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
    /// Records whose dead letter Kafka refused for good, kept in `consumer_dead_letters` instead.
    public var deadLettersKept = 0
    /// Tombstones (null values) skipped.
    public var tombstones = 0
    public var errors = 0
    /// The next offset to process, per partition processed so far.
    public var positions: [Int32: Int64] = [:]
    /// Partitions the group assigned to this consumer (0 until it has joined), about once a second.
    public var assignedPartitions = 0
    /// Records behind the partition's high watermark, updated about once a second.
    public var lag: [Int32: Int64] = [:]
}
