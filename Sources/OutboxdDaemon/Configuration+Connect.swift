import OutboxdPostgres

extension Configuration {
    /// A connection for a command or start-up check; an unreachable server is a `DaemonError`
    /// (exit 69) naming the password-free address, and libpq's text without the password.
    func connectOrFail() throws(DaemonError) -> PQConnection {
        do {
            return try database.connect()
        } catch {
            let password = (try? PQConnection.parseConninfo(database.conninfo).get())?["password"]
            throw DaemonError(.unavailable, "cannot connect to PostgreSQL (DATABASE_URL=\(Redaction.conninfo(database.conninfo))): "
                + Redaction.scrub("\(error)", secrets: password.map { [$0] } ?? []))
        }
    }
}
