import OutboxdCore
@testable import OutboxdOutbox
import OutboxdPostgres
import OutboxdTestSupport
import Testing

/// The content `outbox_emit_message` writes (migration 0017), read without I/O; the contents here
/// are what PostgreSQL 15 wrote for the calls in their comments.
@Suite struct OutboxEventMessageTests {
    static let lsn = LSN(rawValue: 42)

    static func read(_ text: String) throws(OutboxEventMessage.Unreadable) -> OutboxEventMessage {
        try OutboxEventMessage(content: Array(text.utf8), lsn: lsn)
    }

    /// outbox_emit_message('orders', 'k1', 'order.placed', '{"a": "é\"x", "n": 1.50}', '{"h":"v"}')
    @Test func aJSONPayloadKeepsItsText() throws {
        let message = try Self.read(#"["6b96bc5c-843b-47c7-9f84-a7fa0e1463ab", "orders", "", "k1", "order.placed", "{\"a\": \"é\\\"x\", \"n\": 1.50}", null, null, null, null, "{\"h\": \"v\"}", 1796563048.217328]"#)
        #expect(message.eventID == "6b96bc5c-843b-47c7-9f84-a7fa0e1463ab")
        #expect(message.topic == "orders" && message.aggregateType == "" && message.key == "k1" && message.eventType == "order.placed")
        #expect(message.payload == #"{"a": "é\"x", "n": 1.50}"#)
        #expect(message.payloadBytes == nil && message.contentType == nil && message.messageKey == nil && message.messagePartition == nil)
        #expect(message.headers == #"{"h": "v"}"#)
        #expect(message.createdAt == Timestamp(microsecondsSinceEpoch: 1_796_563_048_217_328))
        #expect(message.lsn == Self.lsn)
    }

    /// outbox_emit_message(NULL, 'k1', 'order.placed', NULL, payload_bytes => '\x00ff', aggregate_type => 'Ord',
    /// content_type => 'application/x', message_key => 'mk', message_partition => 3)
    @Test func bytesAndTheOptionalColumns() throws {
        let message = try Self.read(#"["b9bca2cb-27ed-4558-a0d6-d0686d934511", "", "Ord", "k1", "order.placed", null, "00ff", "application/x", "mk", 3, "{}", 1796563048.2]"#)
        #expect(message.payloadBytes == [0x00, 0xFF] && message.payload == nil)
        #expect(message.contentType == "application/x" && message.messageKey == "mk" && message.messagePartition == 3)
        #expect(message.createdAt == Timestamp(microsecondsSinceEpoch: 1_796_563_048_200_000))
    }

    /// Content with the event prefix written by hand: the reason names the column, never its value.
    @Test(arguments: [
        (#"{"not": "an array"}"#, "not the array of 12 columns"),
        (#"[1, 2]"#, "not the array of 12 columns"),
        ("not json", "not JSON"),
        (#"["e", "t", "", null, "x", "{}", null, null, null, null, "{}", 1]"#, "key is null"),
        (#"["e", "t", "", "k", "x", "{}", "00", null, null, null, "{}", 1]"#, "not exactly one of payload and payload_bytes"),
        (#"["e", "t", "", "k", "x", null, "zz", null, null, null, "{}", 1]"#, "payload_bytes is not hexadecimal"),
        (#"["e", "t", "", "k", "x", "{}", null, null, null, -1, "{}", 1]"#, "message_partition is not a partition number"),
        (#"["e", "t", "", "k", 7, "{}", null, null, null, null, "{}", 1]"#, "event_type is a number"),
        (#"["e", "t", "", "k", "x", "{}", null, null, null, null, "{}", "soon"]"#, "created_at is not a number"),
    ])
    func contentThatIsNotAnEventSaysWhy(content: String, reason: String) {
        #expect {
            _ = try Self.read(content)
        } throws: { error in
            (error as? OutboxEventMessage.Unreadable)?.description.contains(reason) == true
        }
    }

    @Test func secondsAreReadToTheMicrosecond() {
        #expect(OutboxEventMessage.microseconds(seconds: "1796563048.217328") == 1_796_563_048_217_328)
        #expect(OutboxEventMessage.microseconds(seconds: "1796563048.5") == 1_796_563_048_500_000)
        #expect(OutboxEventMessage.microseconds(seconds: "1796563048") == 1_796_563_048_000_000)
        #expect(OutboxEventMessage.microseconds(seconds: "-0.5") == -500_000)
        #expect(OutboxEventMessage.microseconds(seconds: "1.5e3") == 1_500_000_000)
        #expect(OutboxEventMessage.microseconds(seconds: "x") == nil)
        // Beyond what a timestamp holds (and what an Int64 of microseconds holds): refused, not a trap.
        #expect(OutboxEventMessage.microseconds(seconds: "99999999999999") == nil)
        #expect(OutboxEventMessage.microseconds(seconds: "-99999999999999.5") == nil)
        #expect(OutboxEventMessage.microseconds(seconds: "9223372036854775807") == nil)
        #expect(OutboxEventMessage.microseconds(seconds: "1e300") == nil)
        #expect(OutboxEventMessage.microseconds(seconds: "253402300799.999999") == 253_402_300_799_999_999)
    }

    /// Mutated contents (any role may emit a message with the event prefix): read as an event and
    /// made into its record, or refused with `Unreadable`, never a crash (a crash fails the whole
    /// run). Digits are inserted often, to reach numbers no field can hold. Seeded, so a failure repeats.
    @Test func mutatedContentsNeverCrashTheReader() {
        var generator = SplitMix64(seed: 0x5eed_0127)
        let contents = [
            #"["6b96bc5c-843b-47c7-9f84-a7fa0e1463ab", "orders", "", "k1", "order.placed", "{\"a\": 1}", null, null, null, null, "{\"h\": \"v\"}", 1796563048.217328]"#,
            #"["b9bca2cb-27ed-4558-a0d6-d0686d934511", "", "Ord", "k1", "order.placed", null, "00ff", "application/x", "mk", 3, "{}", 1796563048.2]"#,
        ].map { Array($0.utf8) }
        let format = RecordFormat()
        var (read, refused) = (0, 0)
        for _ in 0..<20_000 {
            var bytes = contents[Int(generator.next() % UInt64(contents.count))]
            generator.mutate(&bytes, digitRuns: true)
            do {
                let message = try OutboxEventMessage(content: bytes, lsn: Self.lsn)
                if let row = try? OutboxRow(message: message, format: format) { _ = row.message(format) }
                read += 1
            } catch {
                refused += 1
            }
        }
        #expect(read > 1000 && refused > 1000, "read \(read), refused \(refused)")
    }
}
