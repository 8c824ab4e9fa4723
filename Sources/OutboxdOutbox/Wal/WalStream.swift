import OutboxdPostgres

/// The WAL source's decisions over one replication stream (issue #27), with no I/O: each decoded
/// message, keepalive and recorded batch is a mutating call returning the next `Action`; the
/// source's loop executes them, and `WalStreamTests` drives every order by plain calls.
///
/// **G2 over the slot.** A committed transaction's outbox rows and `outbox_emit_message` events
/// are handed to the sink (`.publish`) and the slot's position is confirmed past a transaction
/// only once every transaction up to it is recorded (`recorded(_:)`), in whatever order they
/// are. A transaction with neither is confirmed as soon as those before it are, and an idle
/// stream (nothing open, nothing handed) confirms the server's position on its keepalives, so an
/// idle slot holds no WAL back.
///
/// Without `streaming`, pgoutput sends a transaction only once it has committed, so its events
/// are handed in chunks (`chunkSize` events or `chunkBytes` of content) as they arrive (a writer's
/// transaction of millions of events is never held whole); the transaction is confirmed once its Commit is read and all
/// its chunks are recorded.
struct WalStream {
    /// The table whose inserts are events.
    struct Table: Equatable {
        var schema = "public"
        var name = "outbox"
    }

    enum State: Equatable {
        /// Between transactions.
        case idle
        /// Begin seen: the LSN its Commit will carry, its transaction id, how many outbox rows it
        /// inserted so far (a count, not the rows: the relay reads them from the table, and a bulk
        /// insert of millions of rows must not be held in memory until its Commit), and its events
        /// emitted as messages (those exist nowhere else).
        case inTransaction(finalLSN: LSN, xid: UInt32, rows: Int, messages: [Message], bytes: Int)
    }

    /// Events, and bytes of their contents, handed at most in one `.publish` before their
    /// transaction's Commit.
    static let chunkSize = 1000
    static let chunkBytes = 4 << 20

    /// A logical decoding message with the event prefix (`OutboxEventMessage.prefix`).
    struct Message: Equatable {
        let lsn: LSN
        let content: [UInt8]
    }

    /// What was handed on, in stream order: a chunk of a transaction's events (`end` nil), or a
    /// committed transaction (with nothing to hand, waiting for those before it).
    struct Handed: Equatable {
        let ticket: Int
        let end: LSN?
        var recorded: Bool
    }

    enum Action: Equatable {
        case none
        /// Hand a committed transaction's `rows` outbox inserts and `messages` emitted events (or a
        /// chunk of its events before its Commit: no rows) to the sink; `recorded(ticket)` once
        /// they are recorded.
        case publish(rows: Int, messages: [Message], xid: UInt32, ticket: Int)
        /// Send a status update: everything before this position is done.
        case confirm(LSN)
    }

    let table: Table
    private(set) var state = State.idle
    /// In commit order.
    private(set) var handed: [Handed] = []
    private(set) var confirmed: LSN
    private var relations: [UInt32: PgOutputRelation] = [:]
    private var nextTicket = 0

    /// `confirmed`: the slot's confirmed position when the stream started.
    init(table: Table = Table(), confirmed: LSN) {
        self.table = table
        self.confirmed = confirmed
    }

    /// A message of the stream, in the order received.
    mutating func received(_ message: PgOutputMessage) -> Action {
        switch message {
        case .begin(let finalLSN, _, let xid):
            precondition(state == .idle, "Begin inside a transaction")
            state = .inTransaction(finalLSN: finalLSN, xid: xid, rows: 0, messages: [], bytes: 0)
            return .none
        case .relation(let relation):
            relations[relation.oid] = relation
            return .none
        case .insert(_, let oid, _):
            guard case .inTransaction(let finalLSN, let xid, let rows, let messages, let bytes) = state else { preconditionFailure("Insert outside a transaction") }
            guard let relation = relations[oid] else { preconditionFailure("Insert into relation \(oid) before its Relation message") }
            guard relation.namespace == table.schema && relation.name == table.name else { return .none }
            state = .inTransaction(finalLSN: finalLSN, xid: xid, rows: rows + 1, messages: messages, bytes: bytes)
            return .none
        case .message(_, let transactional, let lsn, let prefix, let content):
            // Events are emitted transactional; another prefix is another tool's message.
            guard transactional, prefix == OutboxEventMessage.prefix else { return .none }
            guard case .inTransaction(let finalLSN, let xid, let rows, var messages, let bytes) = state else {
                preconditionFailure("a transactional Message outside a transaction")
            }
            state = .idle
            messages.append(Message(lsn: lsn, content: content))
            guard messages.count >= Self.chunkSize || bytes + content.count >= Self.chunkBytes else {
                state = .inTransaction(finalLSN: finalLSN, xid: xid, rows: rows, messages: messages, bytes: bytes + content.count)
                return .none
            }
            state = .inTransaction(finalLSN: finalLSN, xid: xid, rows: rows, messages: [], bytes: 0)
            return .publish(rows: 0, messages: messages, xid: xid, ticket: hand(end: nil, recorded: false))
        case .commit(_, let commitLSN, let end, _):
            guard case .inTransaction(let finalLSN, let xid, let rows, let messages, _) = state else { preconditionFailure("Commit outside a transaction") }
            precondition(commitLSN == finalLSN, "Commit at \(commitLSN) of the transaction begun for \(finalLSN)")
            state = .idle
            if rows == 0 && messages.isEmpty {
                // Nothing (more) to hand: confirmed with what is before it.
                _ = hand(end: end, recorded: true)
                return settle()
            }
            return .publish(rows: rows, messages: messages, xid: xid, ticket: hand(end: end, recorded: false))
        case .streamStart, .streamStop, .streamCommit, .streamAbort:
            preconditionFailure("a streamed transaction, which the source does not ask for")
        case .origin, .type, .update, .delete, .truncate:
            return .none
        }
    }

    /// A keepalive: with nothing open or handed, the server's position is confirmed (the WAL
    /// before it holds nothing for this slot); otherwise an asked-for answer repeats the
    /// confirmed position.
    mutating func keepalive(walEnd: LSN, replyRequested: Bool) -> Action {
        if state == .idle, handed.isEmpty, walEnd > confirmed { return advance(to: walEnd) }
        return replyRequested ? .confirm(confirmed) : .none
    }

    private mutating func hand(end: LSN?, recorded: Bool) -> Int {
        nextTicket += 1
        handed.append(Handed(ticket: nextTicket, end: end, recorded: recorded))
        return nextTicket
    }

    /// The sink recorded what `.publish` handed with `ticket`: the position moves past every
    /// committed transaction before the first thing still out.
    mutating func recorded(_ ticket: Int) -> Action {
        guard let index = handed.firstIndex(where: { $0.ticket == ticket }), !handed[index].recorded else {
            preconditionFailure("recorded ticket \(ticket), which is not out")
        }
        handed[index].recorded = true
        return settle()
    }

    /// Moves past the committed transactions at the front that are wholly recorded.
    private mutating func settle() -> Action {
        let done = handed.prefix { $0.recorded }.count
        guard let through = handed.prefix(done).lastIndex(where: { $0.end != nil }), let end = handed[through].end else { return .none }
        handed.removeFirst(through + 1)
        return advance(to: end)
    }

    /// Transactions handed and not yet recorded.
    var outstanding: Int { handed.count { !$0.recorded } }

    private mutating func advance(to lsn: LSN) -> Action {
        guard lsn > confirmed else { return .none }
        confirmed = lsn
        return .confirm(lsn)
    }
}
