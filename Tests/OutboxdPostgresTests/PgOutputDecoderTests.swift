import Foundation
@testable import OutboxdPostgres
import OutboxdTestSupport
import Testing

/// Issue #27: the pgoutput decoder over bytes PostgreSQL 15 wrote (`scripts/pgoutput-fixture.sh`,
/// `Tests/Fixtures/pgoutput/changes.txt`), over hand-made messages for what the fixture cannot
/// hold (streamed transactions), and over mutated bytes, which must be refused, never crash.
@Suite struct PgOutputDecoderTests {
    static func fixture() throws -> [(lsn: String, bytes: [UInt8])] {
        let url = TestEnvironment.repositoryRoot.appendingPathComponent("Tests/Fixtures/pgoutput/changes.txt")
        return try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { line in
            let parts = line.split(separator: " ")
            var bytes: [UInt8] = []
            var hex = parts[1].utf8.makeIterator()
            while let high = hex.next(), let low = hex.next() {
                bytes.append(UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)!)
            }
            return (String(parts[0]), bytes)
        }
    }

    static func decodeAll() throws -> [PgOutputMessage] {
        var decoder = PgOutputDecoder()
        return try fixture().map { try decoder.decode($0.bytes) }
    }

    static func text(_ value: PgOutputValue) -> String? {
        if case .text(let bytes) = value { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }

    @Test func everyRecordedMessageDecodes() throws {
        let messages = try Self.decodeAll()
        let kinds = messages.map { message -> String in
            switch message {
            case .begin: "B"
            case .commit: "C"
            case .relation: "R"
            case .insert: "I"
            case .update: "U"
            case .delete: "D"
            case .truncate: "T"
            case .message: "M"
            default: "?"
            }
        }
        #expect(kinds.joined() == "BRIICBMCMBUCBUCBDCBRIICBUCBDCBRTC")
    }

    @Test func relationsAndRowsAreWhatWasWritten() throws {
        let messages = try Self.decodeAll()
        guard case .relation(let events) = messages[1] else { Issue.record("no relation"); return }
        #expect(events.namespace == "public" && events.name == "events" && events.replicaIdentity == UInt8(ascii: "d"))
        #expect(events.columns.map(\.name) == ["id", "key", "payload", "body", "raw", "at", "n"])
        #expect(events.columns.map(\.typeOID) == [20, 25, 3802, 25, 17, 1184, 23])
        #expect(events.columns.map(\.isKey) == [true, false, false, false, false, false, false])
        #expect(events.columns.allSatisfy { $0.typeModifier == -1 })

        guard case .insert(nil, events.oid, let first) = messages[2], case .insert(nil, events.oid, let second) = messages[3] else {
            Issue.record("no inserts"); return
        }
        #expect(first.map(Self.text) == ["1", "order-1", #"{"a": 1}"#, "short", #"\x00ff"#, "2026-01-02 03:04:05.123456+00", "42"])
        #expect(second.map(Self.text) == ["2", #"ключ-😀 "q" \"#, nil, String(repeating: "x", count: 10000), nil, nil, nil])
        #expect(second[2] == .null && second[4] == .null)

        guard case .begin(let finalLSN, let commitTime, let xid) = messages[0], case .commit(0, let commitLSN, let endLSN, let committed) = messages[4] else {
            Issue.record("no transaction"); return
        }
        #expect(commitLSN == finalLSN && endLSN > commitLSN && committed == commitTime && xid > 0)
        // 2026-12 is about 27 years after PostgreSQL's epoch.
        #expect((Int64(26 * 365 * 86400) * 1_000_000...Int64(28 * 365 * 86400) * 1_000_000).contains(commitTime))

        guard case .message(nil, true, _, "outboxd", let content) = messages[6],
              case .message(nil, false, _, "outboxd", let other) = messages[8] else { Issue.record("no messages"); return }
        #expect(content == Array("transactional".utf8) && other == Array("non-transactional é".utf8))

        // The unchanged TOASTed body is not sent again; a new key sends the old one.
        guard case .update(nil, events.oid, nil, false, let toasted) = messages[10] else { Issue.record("no update"); return }
        #expect(toasted[3] == .unchangedToast && Self.text(toasted[6]) == "7")
        guard case .update(nil, events.oid, let oldKey?, true, let moved) = messages[13] else { Issue.record("no key update"); return }
        #expect(Self.text(oldKey[0]) == "1" && oldKey[1...].allSatisfy { $0 == .null } && Self.text(moved[0]) == "3")
        guard case .delete(nil, events.oid, let deleted, true) = messages[16] else { Issue.record("no delete"); return }
        #expect(Self.text(deleted[0]) == "3")

        guard case .relation(let audit) = messages[19] else { Issue.record("no audit relation"); return }
        #expect(audit.replicaIdentity == UInt8(ascii: "f") && audit.columns.allSatisfy(\.isKey))
        guard case .update(nil, audit.oid, let wholeOld?, false, let new) = messages[24] else { Issue.record("no full update"); return }
        #expect(wholeOld.map(Self.text) == ["1", "a"] && new.map(Self.text) == ["1", "b"])
        guard case .truncate(nil, 0, let relations) = messages[31] else { Issue.record("no truncate"); return }
        #expect(relations == [audit.oid])
    }

    /// Every cut of a recorded message is refused, and so is a byte too many: nothing is read
    /// past its end or taken for a shorter message.
    @Test func aCutOrLongerMessageIsRefused() throws {
        for (lsn, bytes) in try Self.fixture() {
            for length in 0..<bytes.count {
                var decoder = PgOutputDecoder()
                #expect(throws: PgOutputError.self, "\(lsn) cut to \(length)") { try decoder.decode(Array(bytes[..<length])) }
            }
            var decoder = PgOutputDecoder()
            #expect { try decoder.decode(bytes + [0]) } throws: { ($0 as? PgOutputError)?.code == .trailingBytes }
        }
    }

    /// Mutated server bytes: refused with a `PgOutputError` or decoded, never a crash or a read
    /// out of bounds (a crash fails the whole run). Seeded, so a failure repeats.
    @Test func mutatedMessagesNeverCrashTheDecoder() throws {
        var generator = SplitMix64(seed: 0x5eed_0027)
        let messages = try Self.fixture().map(\.bytes)
        var refused = 0
        for _ in 0..<40_000 {
            var bytes = messages[Int(generator.next() % UInt64(messages.count))]
            generator.mutate(&bytes)
            var decoder = PgOutputDecoder()
            do { _ = try decoder.decode(bytes) } catch { refused += 1 }
            do { _ = try ReplicationMessage.decode([UInt8(ascii: "w")] + bytes) } catch { refused += 1 }
        }
        #expect(refused > 10_000)
        // Counts that promise more than is there are refused before anything is reserved for them.
        var decoder = PgOutputDecoder()
        #expect(throws: PgOutputError.self) { try decoder.decode([UInt8(ascii: "T"), 0x7F, 0xFF, 0xFF, 0xFF, 0]) }
        #expect(throws: PgOutputError.self) { try decoder.decode([UInt8(ascii: "I"), 0, 0, 0, 1, UInt8(ascii: "N"), 0x7F, 0xFF]) }
        #expect { try decoder.decode([UInt8(ascii: "M"), 1] + Array(repeating: 0, count: 8) + [0, 0xFF, 0xFF, 0xFF, 0xFF]) } throws: {
            ($0 as? PgOutputError)?.code == .invalidLength
        }
    }

    /// Protocol 2's streamed transactions: the messages between Stream Start and Stream Stop carry
    /// their transaction id.
    @Test func streamedMessagesCarryTheirTransaction() throws {
        var decoder = PgOutputDecoder()
        func be32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt32($0))) } }
        func be64(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64($0))) } }
        #expect(try decoder.decode([UInt8(ascii: "S")] + be32(77) + [1]) == .streamStart(xid: 77, firstSegment: true))
        #expect(decoder.inStream)
        let insert = [UInt8(ascii: "I")] + be32(77) + be32(16384) + [UInt8(ascii: "N"), 0, 2, UInt8(ascii: "t")] + be32(1) + [UInt8(ascii: "a"), UInt8(ascii: "n")]
        #expect(try decoder.decode(insert) == .insert(xid: 77, relation: 16384, new: [.text([UInt8(ascii: "a")]), .null]))
        #expect(try decoder.decode([UInt8(ascii: "E")]) == .streamStop)
        #expect(!decoder.inStream)
        #expect(throws: PgOutputError.self) { try decoder.decode(insert) } // outside a stream, the xid is a relation id and a byte is left over
        #expect(try decoder.decode([UInt8(ascii: "c")] + be32(77) + [0] + be64(10) + be64(20) + be64(30))
                == .streamCommit(xid: 77, flags: 0, commitLSN: LSN(rawValue: 10), endLSN: LSN(rawValue: 20), commitTime: 30))
        #expect(try decoder.decode([UInt8(ascii: "A")] + be32(77) + be32(78)) == .streamAbort(xid: 77, subxid: 78))
        #expect(try decoder.decode([UInt8(ascii: "A")] + be32(77) + be32(78) + be64(1) + be64(2)) == .streamAbort(xid: 77, subxid: 78))
        #expect { try decoder.decode([UInt8(ascii: "Z")]) } throws: {
            let error = $0 as? PgOutputError
            return error?.code == .unknownKind && error?.description == "pgoutput message 'Z': unknownKind at byte 0"
        }
    }

    @Test func replicationFramingAndStatusUpdates() throws {
        let data: [UInt8] = [UInt8(ascii: "w")] + [0, 0, 0, 1, 0, 0, 0, 2] + [0, 0, 0, 1, 0, 0, 0, 9] + [0, 0, 0, 0, 0, 0, 1, 0] + [UInt8(ascii: "B")]
        #expect(try ReplicationMessage.decode(data) == .xLogData(start: LSN(rawValue: 0x1_0000_0002), walEnd: LSN(rawValue: 0x1_0000_0009),
                                                                 serverTime: 256, data: [UInt8(ascii: "B")]))
        #expect(LSN(rawValue: 0x16_B374_D848).description == "16/B374D848")
        let keepalive: [UInt8] = [UInt8(ascii: "k")] + [0, 0, 0, 0, 0, 0, 0, 5] + [0, 0, 0, 0, 0, 0, 0, 6] + [1]
        #expect(try ReplicationMessage.decode(keepalive) == .keepalive(walEnd: LSN(rawValue: 5), serverTime: 6, replyRequested: true))
        #expect(throws: PgOutputError.self) { try ReplicationMessage.decode(keepalive + [0]) }
        #expect(ReplicationMessage.statusUpdate(written: LSN(rawValue: 1), flushed: LSN(rawValue: 2), applied: LSN(rawValue: 3), clientTime: -1)
                == [UInt8(ascii: "r")] + [0, 0, 0, 0, 0, 0, 0, 1] + [0, 0, 0, 0, 0, 0, 0, 2] + [0, 0, 0, 0, 0, 0, 0, 3] + Array(repeating: 0xFF, count: 8) + [0])
    }
}
