import OutboxdPostgres

/// The WAL source's decisions over one replication stream (issue #27), with no I/O: each decoded
/// message, keepalive and recorded batch is a mutating call returning the next `Action`; the
/// source's loop executes them, and `WalStreamTests` drives every order by plain calls.
///
/// **G2 over the slot.** A committed transaction's outbox rows and `outbox_emit_message` events
/// are handed to the sink (`.publish`) and the slot's position is confirmed past a transaction
/// only once every transaction up to it is recorded (`recorded(through:)`), in whatever order
/// they are. A transaction with neither is confirmed as soon as those before it are, and an idle
/// stream (nothing open, nothing handed) confirms the server's position on its keepalives, so an
/// idle slot holds no WAL back.
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
        case inTransaction(finalLSN: LSN, xid: UInt32, rows: Int, messages: [Message])
    }

    /// A logical decoding message with the event prefix (`OutboxEventMessage.prefix`).
    struct Message: Equatable {
        let lsn: LSN
        let content: [UInt8]
    }

    /// A committed transaction handed on (or, with nothing to hand, waiting for those before it).
    struct Handed: Equatable {
        let end: LSN
        var recorded: Bool
    }

    enum Action: Equatable {
        case none
        /// Hand one committed transaction (`xid`: `rows` outbox inserts, `messages` emitted events)
        /// to the sink; `recorded(through:)` when they are recorded.
        case publish(rows: Int, messages: [Message], xid: UInt32, through: LSN)
        /// Send a status update: everything before this position is done.
        case confirm(LSN)
    }

    let table: Table
    private(set) var state = State.idle
    /// In commit order.
    private(set) var handed: [Handed] = []
    private(set) var confirmed: LSN
    private var relations: [UInt32: PgOutputRelation] = [:]

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
            state = .inTransaction(finalLSN: finalLSN, xid: xid, rows: 0, messages: [])
            return .none
        case .relation(let relation):
            relations[relation.oid] = relation
            return .none
        case .insert(_, let oid, _):
            guard case .inTransaction(let finalLSN, let xid, let rows, let messages) = state else { preconditionFailure("Insert outside a transaction") }
            guard let relation = relations[oid] else { preconditionFailure("Insert into relation \(oid) before its Relation message") }
            guard relation.namespace == table.schema && relation.name == table.name else { return .none }
            state = .inTransaction(finalLSN: finalLSN, xid: xid, rows: rows + 1, messages: messages)
            return .none
        case .message(_, let transactional, let lsn, let prefix, let content):
            // Events are emitted transactional; another prefix is another tool's message.
            guard transactional, prefix == OutboxEventMessage.prefix else { return .none }
            guard case .inTransaction(let finalLSN, let xid, let rows, var messages) = state else {
                preconditionFailure("a transactional Message outside a transaction")
            }
            state = .idle
            messages.append(Message(lsn: lsn, content: content))
            state = .inTransaction(finalLSN: finalLSN, xid: xid, rows: rows, messages: messages)
            return .none
        case .commit(_, let commitLSN, let end, _):
            guard case .inTransaction(let finalLSN, let xid, let rows, let messages) = state else { preconditionFailure("Commit outside a transaction") }
            precondition(commitLSN == finalLSN, "Commit at \(commitLSN) of the transaction begun for \(finalLSN)")
            state = .idle
            if rows == 0 && messages.isEmpty {
                guard handed.isEmpty else {
                    handed.append(Handed(end: end, recorded: true))
                    return .none
                }
                return advance(to: end)
            }
            handed.append(Handed(end: end, recorded: false))
            return .publish(rows: rows, messages: messages, xid: xid, through: end)
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

    /// The sink recorded the handed transaction ending at `end`: the position moves past every
    /// recorded transaction before the first one still out.
    mutating func recorded(through end: LSN) -> Action {
        guard let index = handed.firstIndex(where: { $0.end == end }), !handed[index].recorded else {
            preconditionFailure("recorded through \(end), which no transaction still out ends at")
        }
        handed[index].recorded = true
        let done = handed.prefix { $0.recorded }.count
        guard done > 0 else { return .none }
        let confirmedEnd = handed[done - 1].end
        handed.removeFirst(done)
        return advance(to: confirmedEnd)
    }

    /// Transactions handed and not yet recorded.
    var outstanding: Int { handed.count { !$0.recorded } }

    private mutating func advance(to lsn: LSN) -> Action {
        guard lsn > confirmed else { return .none }
        confirmed = lsn
        return .confirm(lsn)
    }
}
