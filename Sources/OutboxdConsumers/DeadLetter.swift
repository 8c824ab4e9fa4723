import OutboxdKafka
import OutboxdPostgres

/// A record a consumer gives up on, and why: as the message to `<topic>.dlq` (the record's key,
/// value and headers plus `dlq_*` headers), or, when Kafka refuses that message for good, as a
/// `consumer_dead_letters` row (migration 0013), which keeps the record whole.
struct DeadLetter {
    let record: KafkaRecord
    let consumer: String
    /// Why the consumer did not apply it.
    let reason: String
    /// Handler attempts; 0 for a record that is not a task event.
    let attempts: Int

    /// Longest `dlq_error` header.
    static let longestError = 1000

    var source: String { "\(record.topic)/\(record.partition)/\(record.offset)" }

    /// The message to `topic`. `dlq_error` is cut (at a character boundary) so that the headers
    /// this adds never take the message past `maxBytes` (the producer's `message.max.bytes`): a
    /// record that fitted before is not refused for them. One too large by itself still is.
    func message(to topic: String, maxBytes: Int) -> KafkaMessage {
        var headers = record.headers + [
            ("dlq_consumer", Array(consumer.utf8)), ("dlq_attempts", Array("\(attempts)".utf8)), ("dlq_source", Array(source.utf8)),
        ]
        let room = maxBytes - Self.wireSize(key: record.key, value: record.value, headers: headers + [("dlq_error", [])])
        headers.insert(("dlq_error", Self.prefix(of: reason, bytes: min(Self.longestError, max(0, room)))), at: record.headers.count + 1)
        var message = KafkaMessage(topic: topic, key: record.key, value: record.value, headers: headers)
        message.isTombstone = record.isTombstone
        return message
    }

    /// What librdkafka counts against `message.max.bytes`, with room to spare: its per-record
    /// framing (at most 36 bytes) and each header's two length varints (at most 10 bytes).
    static func wireSize(key: [UInt8], value: [UInt8], headers: [(name: String, value: [UInt8])]) -> Int {
        64 + key.count + value.count + headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.count + 10 }
    }

    /// The longest prefix of `text` of at most `bytes` UTF-8 bytes that ends at a character boundary.
    static func prefix(of text: String, bytes: Int) -> [UInt8] {
        var utf8 = Array(text.utf8.prefix(bytes))
        // Drop a multi-byte sequence cut short: continuation bytes, then their lead byte.
        if utf8.count < text.utf8.count {
            while let last = utf8.last, last & 0xC0 == 0x80 { utf8.removeLast() }
            if let last = utf8.last, last >= 0xC0 { utf8.removeLast() }
        }
        return utf8
    }

    /// The parameters of `keep`; `dlqError`: why `<topic>.dlq` refused the letter.
    func row(dlqError: String) -> [(any PostgresParameter)?] {
        [consumer, record.topic, record.partition, record.offset, PostgresBytes(record.key),
         record.isTombstone ? nil : PostgresBytes(record.value),
         record.headers.map(\.name), record.headers.map { PostgresBytes($0.value) },
         attempts, NULReplacement.text(reason), NULReplacement.text(dlqError)]
    }

    static let keep = PostgresStatement(name: "consumer_dead_letter_keep", sql: """
        INSERT INTO consumer_dead_letters (consumer, topic, kafka_partition, kafka_offset, key, value, header_names, header_values,
                                           attempts, reason, dlq_error)
        VALUES ($1, $2, $3, $4, $5::bytea, $6::bytea, $7::text[], $8::bytea[], $9, $10, $11)
        """)
}
