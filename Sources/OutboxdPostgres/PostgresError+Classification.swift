extension PostgresError {
    /// What went wrong in a few words that are safe to show anyone (`/readyz`): no server address,
    /// user, database name or row text, which libpq's and the server's messages may hold; those
    /// stay in `description` for the log. One of `unreachable`, `timeout`, `auth failed`,
    /// `no such database`, `tls failed`, `too many connections`, `server starting or stopping`,
    /// `connection lost`, `schema`, `query failed`, `pool exhausted`, `unexpected data`, `closed`.
    public var classification: String {
        switch kind {
        case .poolTimeout: return "pool exhausted"
        case .decoding: return "unexpected data"
        case .closed: return "closed"
        case .connectionUnavailable:
            // Connect failures carry libpq's text only (no SQLSTATE): its stable phrases decide.
            let text = message.lowercased()
            if text.contains("password authentication failed") || text.contains("no pg_hba.conf entry")
                || text.contains("authentication failed") || text.contains("password") && text.contains("supplied")
                || text.contains("role") && text.contains("does not exist") {
                return "auth failed"
            }
            if text.contains("timeout expired") || text.contains("timed out") { return "timeout" }
            if text.contains("database") && text.contains("does not exist") { return "no such database" }
            if text.contains("ssl") || text.contains("certificate") || text.contains("gss") { return "tls failed" }
            if text.contains("too many") && text.contains("connections") || text.contains("remaining connection slots") {
                return "too many connections"
            }
            if text.contains("starting up") || text.contains("shutting down") || text.contains("recovery mode") {
                return "server starting or stopping"
            }
            if text.contains("server closed the connection") || text.contains("terminating connection") || text.contains("connection to server was lost")
                || text.contains("no connection to the server") {
                return "connection lost"
            }
            return "unreachable"
        case .server:
            switch code.errorClass {
            case "08": return "connection lost"
            case "28": return "auth failed"
            case "3D": return "no such database"
            case "53": return code.raw == "53300" ? "too many connections" : "server out of resources"
            case "42", "3F": return "schema"
            default: break
            }
            switch code {
            case .queryCanceled: return "timeout"
            case .adminShutdown, .crashShutdown, .cannotConnectNow: return "server starting or stopping"
            default: return "query failed"
            }
        }
    }
}
