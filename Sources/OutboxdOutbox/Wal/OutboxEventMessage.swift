import OutboxdCore
import OutboxdPostgres

/// An event `outbox_emit_message` wrote into the WAL (migration 0017): the columns an outbox row
/// would have had, read from the logical decoding message's content.
public struct OutboxEventMessage: Sendable, Equatable {
    /// The prefix `outbox_emit_message` gives its messages; another prefix is not an event.
    public static let prefix = "outboxd.event.v1"

    public var eventID: String
    public var topic: String
    public var aggregateType: String
    public var key: String
    public var eventType: String
    /// The jsonb payload as PostgreSQL prints it (what a row's `payload::text` is).
    public var payload: String?
    public var payloadBytes: [UInt8]?
    public var contentType: String?
    public var messageKey: String?
    public var messagePartition: Int32?
    /// The headers' jsonb text.
    public var headers: String
    public var createdAt: Timestamp
    /// Where the message is in the WAL, for logs and the row it becomes when undeliverable.
    public var lsn: LSN

    /// Why content with the event prefix is not an event: names what is wrong, never a value.
    public struct Unreadable: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// Reads the content `outbox_emit_message` writes: a JSON array of the event's columns.
    public init(content: [UInt8], lsn: LSN) throws(Unreadable) {
        self.lsn = lsn
        let value: JSONValue
        do { value = try JSONParser.parse(content, maxDepth: 2) } catch { throw Unreadable(description: "the content is not JSON (\(error.detail))") }
        guard let fields = value.arrayValue, fields.count == 12 else {
            throw Unreadable(description: "the content is not the array of 12 columns outbox_emit_message writes")
        }
        func text(_ index: Int, _ name: String) throws(Unreadable) -> String? {
            if fields[index].isNull { return nil }
            guard let text = fields[index].stringValue else { throw Unreadable(description: "\(name) is a \(fields[index].typeName), not a string") }
            return text
        }
        func required(_ index: Int, _ name: String) throws(Unreadable) -> String {
            guard let text = try text(index, name) else { throw Unreadable(description: "\(name) is null") }
            return text
        }
        eventID = try required(0, "event_id")
        topic = try required(1, "topic")
        aggregateType = try required(2, "aggregate_type")
        key = try required(3, "key")
        eventType = try required(4, "event_type")
        payload = try text(5, "payload")
        if let hex = try text(6, "payload_bytes") {
            guard let bytes = PostgresBytes(postgresText: "\\x" + hex)?.bytes else { throw Unreadable(description: "payload_bytes is not hexadecimal") }
            payloadBytes = bytes
        } else {
            payloadBytes = nil
        }
        guard (payload == nil) != (payloadBytes == nil) else { throw Unreadable(description: "not exactly one of payload and payload_bytes") }
        contentType = try text(7, "content_type")
        messageKey = try text(8, "message_key")
        if fields[9].isNull {
            messagePartition = nil
        } else {
            guard let number = fields[9].numberText, let partition = Int32(number), partition >= 0 else {
                throw Unreadable(description: "message_partition is not a partition number")
            }
            messagePartition = partition
        }
        headers = try required(10, "headers")
        guard let seconds = fields[11].numberText, let micros = Self.microseconds(seconds: seconds) else {
            throw Unreadable(description: "created_at is not a number of seconds")
        }
        createdAt = Timestamp(microsecondsSinceEpoch: micros)
    }

    /// `1796563048.217328` (as `date_part('epoch', …)` prints it) to microseconds, exactly; nil
    /// outside the years 1–9999 (what a timestamp can hold).
    static func microseconds(seconds text: String) -> Int64? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        var micros: Int64?
        if let whole = Int64(parts[0]), abs(whole) <= maximumSeconds {
            if parts.count == 1 {
                micros = whole * 1_000_000
            } else if parts[1].count <= 6, parts[1].allSatisfy(\.isASCIIDigit),
                      let fraction = Int64(parts[1].padding(toLength: 6, withPad: "0", startingAt: 0)) {
                micros = whole * 1_000_000 + (parts[0].hasPrefix("-") ? -fraction : fraction)
            }
        }
        if micros == nil, let double = Double(text), double.isFinite, abs(double) <= Double(maximumSeconds) {
            micros = Int64((double * 1_000_000).rounded())
        }
        guard let micros, (Timestamp.earliestParseable.microsecondsSinceEpoch...Timestamp.latestParseable.microsecondsSinceEpoch).contains(micros) else {
            return nil
        }
        return micros
    }

    /// Seconds from the epoch to past the year 9999, either way.
    private static let maximumSeconds: Int64 = 300_000_000_000
}

private extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
