import OutboxdKafka
import OutboxdPostgres

/// Where a record the consumer gives up on goes: `<topic>.dlq`, or, when Kafka refuses the
/// letter for good, the `consumer_dead_letters` table; never nowhere.
extension ConsumerRunner {
    /// Produces the record to `<topic>.dlq` with its headers and why, in up to
    /// `deadLetterAttempts` tries. A permanent refusal (too large, the topic missing or not
    /// writable) keeps the record in `consumer_dead_letters` instead (`keep`). Otherwise, when no
    /// try is delivered (brokers down), `.retryLater`, counted in `deadLetterFailures`.
    func deadLetter(_ record: KafkaRecord, reason: String, attempts: Int, connection: inout PQConnection?) -> Outcome {
        let letter = DeadLetter(record: record, consumer: handler.name, reason: reason, attempts: attempts)
        let message = letter.message(to: deadLetterTopic, maxBytes: deadLetters.maxMessageBytes)
        for failures in 1...Self.deadLetterAttempts {
            guard isRunning else { return .stopped }
            let result = deadLetters.send([message], timeout: .seconds(30))[0]
            let why: String
            switch result {
            case .delivered:
                counters.withLock { $0.deadLettered += 1 }
                logger.error("event sent to the dead-letter topic", ["topic": deadLetterTopic, "source": letter.source, "attempts": "\(attempts)", "error": reason])
                return .done
            case .failed(let failure) where failure.isPermanent:
                logger.error("the dead-letter topic refuses the record for good; keeping it in consumer_dead_letters",
                             ["topic": deadLetterTopic, "source": letter.source, "error": failure.description])
                return keep(letter, refusedWith: failure.description, connection: &connection)
            case .failed(let failure):
                why = failure.description
                problem(record, "dead letter not written: Kafka \(failure.code.name)")
            case .notProduced:
                preconditionFailure("a dead letter is sent alone, with no chain: it is always produced")
            case .unknown:
                why = "no delivery report"
                problem(record, "dead letter not written: no delivery report")
            }
            logger.warning("cannot produce to the dead-letter topic", ["topic": deadLetterTopic, "source": letter.source, "try": "\(failures)", "error": why])
            if failures < Self.deadLetterAttempts { wakeup.wait(timeout: backoff(failures)) }
        }
        counters.withLock { $0.deadLetterFailures += 1 }
        logger.error("dead letter not written; the event stays unprocessed and is tried again later",
                     ["topic": deadLetterTopic, "source": letter.source])
        return isRunning ? .retryLater : .stopped
    }

    /// Writes `letter` to `consumer_dead_letters`, waiting out database outages; `.retryLater`
    /// when the database refuses the row, so the record is tried again, not skipped.
    private func keep(_ letter: DeadLetter, refusedWith dlqError: String, connection: inout PQConnection?) -> Outcome {
        var outages = 0
        while isRunning {
            do {
                if connection == nil || connection!.isBroken { connection = try database.connect() }
                try connection!.query(DeadLetter.keep, letter.row(dlqError: dlqError))
                counters.withLock { $0.deadLettersKept += 1 }
                logger.error("dead letter kept in consumer_dead_letters", ["source": letter.source, "attempts": "\(letter.attempts)", "error": letter.reason])
                return .done
            } catch let error as PostgresError where error.kind == .connectionUnavailable || connection?.isBroken == true {
                connection?.close()
                connection = nil
                outages += 1
                problem(letter.record, "database unavailable")
                logger.warning("database unavailable; waiting", ["error": "\(error)"])
                wakeup.wait(timeout: backoff(outages))
            } catch {
                counters.withLock { $0.deadLetterFailures += 1 }
                problem(letter.record, "dead letter not kept: \((error as? PostgresError)?.classification ?? "internal error")")
                logger.error("cannot keep the dead letter in consumer_dead_letters; the event stays unprocessed and is tried again later",
                             ["source": letter.source, "error": "\(error)"])
                return .retryLater
            }
        }
        return .stopped
    }
}
