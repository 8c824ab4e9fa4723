import OutboxdPostgres

extension PostgresError {
    /// An error caused by one row's values, which writing the tasks one by one pins on that
    /// request alone: a data exception (class 22, e.g. a timestamp out of range) or an integrity
    /// violation (class 23, e.g. a CHECK on the title or a unique key).
    var belongsToOneRow: Bool {
        kind == .server && (code.errorClass == "22" || code.errorClass == "23")
    }

    /// An error that says nothing about the rows and may pass if the same statement is sent again
    /// shortly: PostgreSQL unreachable or restarting (`isTransient`), a serialization failure or
    /// deadlock (class 40), `lock_timeout` (55P03), `statement_timeout` or a cancel (57014), or
    /// the server short of resources (class 53).
    var isWorthRetrying: Bool {
        if isTransient { return true }
        guard kind == .server else { return false }
        return code.errorClass == "40" || code.errorClass == "53" || code == "55P03" || code == .queryCanceled
    }
}
