import OutboxdPostgres

/// The WAL source's decisions over one replication stream (issue #27), with no I/O: each decoded
/// message, keepalive and recorded batch is a mutating call returning the next `Action`; the
/// source's loop executes them, and `WalStreamTests` drives every order by plain calls.
///
/// **G2 over the slot.** A committed transaction's outbox rows are handed to the sink
/// (`.publish`) and the slot's position is confirmed past a transaction only once every
/// transaction up to it is recorded (`recorded(through:)`). A transaction with no outbox rows
/// is confirmed as soon as those before it are, and an idle stream (nothing open, nothing
/// handed) confirms the server's position on its keepalives, so an idle slot holds no WAL back.
struct WalStream {
    /// The table whose inserts are events.
    struct Table: Equatable {
        var schema = "public"
        var name = "outbox"
    }

    enum State: Equatable {
        /// Between transactions.
        case idle
        /// Begin seen: the LSN its Commit will carry, its transaction id, and how many outbox rows
        /// it inserted so far (a count, not the rows: the relay reads them from the table, and a
        /// bulk insert of millions of rows must not be held in memory until its Commit).
        case inTransaction(finalLSN: LSN, xid: UInt32, rows: Int)
    }

    /// A committed transaction handed on (or, without rows, waiting for those before it).
    struct Handed: Equatable {
        let end: LSN
        let rows: Int
    }

    enum Action: Equatable {
        case none
        /// Hand the rows of one committed transaction (`xid`, `rows` outbox inserts) to the sink;
        /// `recorded(through:)` when they are recorded.
        case publish(rows: Int, xid: UInt32, through: LSN)
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
            state = .inTransaction(finalLSN: finalLSN, xid: xid, rows: 0)
            return .none
        case .relation(let relation):
            relations[relation.oid] = relation
            return .none
        case .insert(_, let oid, _):
            guard case .inTransaction(let finalLSN, let xid, let rows) = state else { preconditionFailure("Insert outside a transaction") }
            guard let relation = relations[oid] else { preconditionFailure("Insert into relation \(oid) before its Relation message") }
            guard relation.namespace == table.schema && relation.name == table.name else { return .none }
            state = .inTransaction(finalLSN: finalLSN, xid: xid, rows: rows + 1)
            return .none
        case .commit(_, let commitLSN, let end, _):
            guard case .inTransaction(let finalLSN, let xid, let rows) = state else { preconditionFailure("Commit outside a transaction") }
            precondition(commitLSN == finalLSN, "Commit at \(commitLSN) of the transaction begun for \(finalLSN)")
            state = .idle
            if rows == 0 {
                guard handed.isEmpty else {
                    handed.append(Handed(end: end, rows: 0))
                    return .none
                }
                return advance(to: end)
            }
            handed.append(Handed(end: end, rows: rows))
            return .publish(rows: rows, xid: xid, through: end)
        case .streamStart, .streamStop, .streamCommit, .streamAbort:
            preconditionFailure("a streamed transaction, which the source does not ask for")
        case .origin, .type, .update, .delete, .truncate, .message:
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

    /// The sink recorded every handed transaction up to the one ending at `end`.
    mutating func recorded(through end: LSN) -> Action {
        guard let index = handed.firstIndex(where: { $0.end == end }), handed[index].rows > 0 else {
            preconditionFailure("recorded through \(end), which no handed transaction ends at")
        }
        var last = index
        while last + 1 < handed.count, handed[last + 1].rows == 0 { last += 1 }
        let confirmedEnd = handed[last].end
        handed.removeFirst(last + 1)
        return advance(to: confirmedEnd)
    }

    private mutating func advance(to lsn: LSN) -> Action {
        guard lsn > confirmed else { return .none }
        confirmed = lsn
        return .confirm(lsn)
    }
}
