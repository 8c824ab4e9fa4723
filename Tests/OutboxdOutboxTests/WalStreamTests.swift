import Foundation
@testable import OutboxdOutbox
import OutboxdPostgres
import OutboxdTestSupport
import Testing

/// Issue #27: the WAL source's decisions by plain calls. The slot's position moves only past
/// transactions whose rows are all recorded (G2), in commit order; an idle stream confirms the
/// server's position on keepalives.
@Suite struct WalStreamTests {
    static let outbox = PgOutputRelation(xid: nil, oid: 16400, namespace: "public", name: "outbox", replicaIdentity: UInt8(ascii: "d"),
                                         columns: [.init(isKey: true, name: "id", typeOID: 20, typeModifier: -1),
                                                   .init(isKey: false, name: "aggregate_id", typeOID: 25, typeModifier: -1)])
    static let other = PgOutputRelation(xid: nil, oid: 16500, namespace: "public", name: "tasks", replicaIdentity: UInt8(ascii: "d"),
                                        columns: [.init(isKey: true, name: "id", typeOID: 2950, typeModifier: -1)])

    static func lsn(_ value: UInt64) -> LSN { LSN(rawValue: value) }

    static func insert(_ id: Int, key: String, into relation: PgOutputRelation = outbox) -> PgOutputMessage {
        .insert(xid: nil, relation: relation.oid, new: [.text(Array(String(id).utf8)), .text(Array(key.utf8))])
    }

    /// The ticket of a `.publish`, nil for another action.
    static func ticket(_ action: WalStream.Action?) -> Int? {
        if case .publish(_, _, _, let ticket) = action { return ticket }
        return nil
    }

    /// Begin, the messages, Commit; the actions of each.
    static func transaction(_ stream: inout WalStream, final: UInt64, end: UInt64, _ messages: [PgOutputMessage]) -> [WalStream.Action] {
        [stream.received(.begin(finalLSN: lsn(final), commitTime: 0, xid: 1))] + messages.map { stream.received($0) }
            + [stream.received(.commit(flags: 0, commitLSN: lsn(final), endLSN: lsn(end), commitTime: 0))]
    }

    @Test func aTransactionsRowsArePublishedAndConfirmedOnceRecorded() {
        var stream = WalStream(confirmed: Self.lsn(100))
        let actions = Self.transaction(&stream, final: 150, end: 160,
                                       [.relation(Self.outbox), Self.insert(1, key: "a"), .relation(Self.other), Self.insert(9, key: "x", into: Self.other),
                                        Self.insert(2, key: "b")])
        guard case .publish(let rows, let messages, let xid, let ticket) = actions.last else { Issue.record("\(actions)"); return }
        #expect(xid == 1)
        #expect(actions.dropLast().allSatisfy { $0 == .none })
        #expect(rows == 2, "the outbox's two inserts, not the other table's")
        #expect(messages.isEmpty)
        // Not confirmed until recorded, whatever the keepalives say.
        #expect(stream.keepalive(walEnd: Self.lsn(500), replyRequested: false) == .none)
        #expect(stream.keepalive(walEnd: Self.lsn(500), replyRequested: true) == .confirm(Self.lsn(100)))
        #expect(stream.recorded(ticket) == .confirm(Self.lsn(160)))
        #expect(stream.handed.isEmpty && stream.confirmed == Self.lsn(160))
        // Idle now: a keepalive moves the slot to the server's position.
        #expect(stream.keepalive(walEnd: Self.lsn(500), replyRequested: false) == .confirm(Self.lsn(500)))
        #expect(stream.keepalive(walEnd: Self.lsn(500), replyRequested: false) == .none)
        #expect(stream.keepalive(walEnd: Self.lsn(500), replyRequested: true) == .confirm(Self.lsn(500)))
    }

    /// Transactions without outbox rows wait behind the handed ones, and are confirmed with them.
    @Test func emptyTransactionsAreConfirmedInCommitOrder() throws {
        var stream = WalStream(confirmed: Self.lsn(0))
        #expect(stream.received(.relation(Self.outbox)) == .none)
        #expect(Self.transaction(&stream, final: 10, end: 11, []).last == .confirm(Self.lsn(11)))
        let first = try #require(Self.ticket(Self.transaction(&stream, final: 20, end: 21, [Self.insert(1, key: "a")]).last))
        #expect(Self.transaction(&stream, final: 30, end: 31, []).last == WalStream.Action.none)
        let second = try #require(Self.ticket(Self.transaction(&stream, final: 40, end: 41, [Self.insert(2, key: "b")]).last))
        #expect(Self.transaction(&stream, final: 50, end: 51, []).last == WalStream.Action.none)
        #expect(stream.handed.map(\.end) == [Self.lsn(21), Self.lsn(31), Self.lsn(41), Self.lsn(51)])
        // Recording the first confirms it and the empty one after it, not past the second.
        #expect(stream.recorded(first) == .confirm(Self.lsn(31)))
        #expect(stream.recorded(second) == .confirm(Self.lsn(51)))
        #expect(stream.handed.isEmpty)
    }

    /// The sink may record handed transactions in another order (rows at hand-off, events once
    /// delivered): the position waits for the first one still out, then moves past all recorded.
    @Test func recordingALaterTransactionFirstWaitsForTheEarlierOne() throws {
        var stream = WalStream(confirmed: Self.lsn(0))
        _ = stream.received(.relation(Self.outbox))
        let first = try #require(Self.ticket(Self.transaction(&stream, final: 10, end: 11, [Self.insert(1, key: "a")]).last))
        let second = try #require(Self.ticket(Self.transaction(&stream, final: 20, end: 21, [Self.insert(2, key: "a")]).last))
        _ = Self.transaction(&stream, final: 25, end: 26, [])
        _ = stream.received(.begin(finalLSN: Self.lsn(30), commitTime: 0, xid: 3))
        _ = stream.received(Self.insert(3, key: "a"))
        #expect(stream.outstanding == 2)
        #expect(stream.recorded(second) == WalStream.Action.none)
        #expect(stream.keepalive(walEnd: Self.lsn(99), replyRequested: true) == .confirm(Self.lsn(0)))
        #expect(stream.recorded(first) == .confirm(Self.lsn(26)))
        // A transaction still open is not confirmed by a keepalive.
        #expect(stream.keepalive(walEnd: Self.lsn(99), replyRequested: true) == .confirm(Self.lsn(26)))
    }

    static func emitted(_ lsn: UInt64, _ text: String, prefix: String = OutboxEventMessage.prefix, transactional: Bool = true) -> PgOutputMessage {
        .message(xid: nil, transactional: transactional, lsn: Self.lsn(lsn), prefix: prefix, content: Array(text.utf8))
    }

    /// `outbox_emit_message`'s events travel with their transaction; another prefix, or a
    /// message outside any transaction, is not an event. A transaction of rows after one of
    /// events is not confirmed before the events are recorded (they exist nowhere else).
    @Test func emittedEventsTravelWithTheirTransactionAndHoldThePosition() throws {
        var stream = WalStream(confirmed: Self.lsn(0))
        _ = stream.received(.relation(Self.outbox))
        #expect(stream.received(Self.emitted(5, "x", transactional: false)) == .none, "non-transactional: outside a transaction, ignored")
        let first = Self.transaction(&stream, final: 10, end: 11, [Self.emitted(8, "one"), Self.emitted(9, "other tool", prefix: "debezium"),
                                                                  Self.insert(1, key: "a"), Self.emitted(10, "two")])
        let events = try #require(Self.ticket(first.last))
        #expect(first.last == .publish(rows: 1, messages: [.init(lsn: Self.lsn(8), content: Array("one".utf8)),
                                                            .init(lsn: Self.lsn(10), content: Array("two".utf8))],
                                       xid: 1, ticket: events))
        let onlyOther = Self.transaction(&stream, final: 15, end: 16, [Self.emitted(14, "other tool", prefix: "debezium")])
        #expect(onlyOther.last == WalStream.Action.none, "nothing to hand: waits behind the first")
        let rows = Self.transaction(&stream, final: 20, end: 21, [Self.insert(2, key: "b")])
        let rowsTicket = try #require(Self.ticket(rows.last))
        #expect(rows.last == .publish(rows: 1, messages: [], xid: 1, ticket: rowsTicket))
        // The rows are the relay's at hand-off; the events are not recorded yet.
        #expect(stream.recorded(rowsTicket) == WalStream.Action.none)
        #expect(stream.keepalive(walEnd: Self.lsn(50), replyRequested: false) == .none)
        #expect(stream.recorded(events) == .confirm(Self.lsn(21)))
        #expect(stream.keepalive(walEnd: Self.lsn(50), replyRequested: false) == .confirm(Self.lsn(50)))
    }

    /// Recording a transaction twice is a programming error.
    @Test func recordingATransactionTwiceStops() async {
        await #expect(processExitsWith: .failure) {
            var stream = WalStream(confirmed: LSN(rawValue: 0))
            _ = stream.received(.relation(WalStreamTests.outbox))
            _ = WalStreamTests.transaction(&stream, final: 10, end: 11, [WalStreamTests.emitted(9, "one")])
            let second = WalStreamTests.ticket(WalStreamTests.transaction(&stream, final: 20, end: 21, [WalStreamTests.emitted(19, "two")]).last)!
            _ = stream.recorded(second)
            _ = stream.recorded(second)
        }
    }

    /// The recorded server bytes of `Tests/Fixtures/pgoutput/changes.txt` through the decoder and
    /// the stream, with their `events` table as the outbox: one publication per transaction with
    /// inserts, in commit order; the other transactions are confirmed as they come.
    @Test func recordedServerBytesPublishTheirInserts() throws {
        let url = TestEnvironment.repositoryRoot.appendingPathComponent("Tests/Fixtures/pgoutput/changes.txt")
        var decoder = PgOutputDecoder()
        var stream = WalStream(table: .init(schema: "public", name: "events"), confirmed: Self.lsn(0))
        var published: [Int] = []
        var confirmations = 0
        for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n") {
            let hex = Array(line.split(separator: " ")[1].utf8)
            let bytes = stride(from: 0, to: hex.count, by: 2).map { UInt8(String(decoding: hex[$0..<($0 + 2)], as: UTF8.self), radix: 16)! }
            switch stream.received(try decoder.decode(bytes)) {
            case .publish(let rows, _, _, let ticket):
                published.append(rows)
                guard case .confirm = stream.recorded(ticket) else { Issue.record("not confirmed once recorded"); break }
            case .confirm:
                confirmations += 1
            case .none:
                break
            }
        }
        #expect(published == [2], "the two inserts into events (order-1 and the unicode key), in one transaction")
        #expect(confirmations == 8, "the transactions of updates, deletes, messages and the audit table")
    }

    /// An input that cannot happen in the stream's state is a programming error.
    @Test func aCommitWithoutItsBeginStops() async {
        await #expect(processExitsWith: .failure) {
            var stream = WalStream(confirmed: LSN(rawValue: 0))
            _ = stream.received(.commit(flags: 0, commitLSN: LSN(rawValue: 1), endLSN: LSN(rawValue: 2), commitTime: 0))
        }
    }

    /// A transaction of many events is handed in chunks as they arrive (pgoutput sends only
    /// committed transactions), so none is held whole; it is confirmed once its Commit is read and
    /// every chunk is recorded, in whatever order.
    @Test func aLargeTransactionsEventsAreHandedInChunks() throws {
        var stream = WalStream(confirmed: Self.lsn(0))
        _ = stream.received(.relation(Self.outbox))
        _ = stream.received(.begin(finalLSN: Self.lsn(90_000), commitTime: 0, xid: 7))
        var chunks: [Int] = []
        for n in 0..<(2 * WalStream.chunkSize + 5) {
            let action = stream.received(Self.emitted(UInt64(10 + n), "e\(n)"))
            if let ticket = Self.ticket(action) {
                guard case .publish(0, let messages, 7, _) = action else { Issue.record("\(action)"); return }
                #expect(messages.count == WalStream.chunkSize)
                chunks.append(ticket)
            } else {
                #expect(action == .none)
            }
        }
        #expect(chunks.count == 2)
        #expect(stream.recorded(chunks[1]) == .none)
        #expect(stream.keepalive(walEnd: Self.lsn(80_000), replyRequested: false) == .none, "a transaction is open")
        let commit = stream.received(.commit(flags: 0, commitLSN: Self.lsn(90_000), endLSN: Self.lsn(90_010), commitTime: 0))
        guard case .publish(0, let last, 7, let lastTicket) = commit else { Issue.record("\(commit)"); return }
        #expect(last.count == 5)
        #expect(stream.recorded(lastTicket) == .none, "the first chunk is still out")
        #expect(stream.recorded(chunks[0]) == .confirm(Self.lsn(90_010)))
        #expect(stream.handed.isEmpty)

        // All in chunks, nothing left at the Commit: confirmed when the last chunk is recorded,
        // or at the Commit when they already are.
        _ = stream.received(.begin(finalLSN: Self.lsn(95_000), commitTime: 0, xid: 8))
        var ticket: Int?
        for n in 0..<WalStream.chunkSize { ticket = Self.ticket(stream.received(Self.emitted(UInt64(91_000 + n), "f"))) ?? ticket }
        #expect(stream.recorded(try #require(ticket)) == .none)
        #expect(stream.received(.commit(flags: 0, commitLSN: Self.lsn(95_000), endLSN: Self.lsn(95_010), commitTime: 0)) == .confirm(Self.lsn(95_010)))
    }
}
