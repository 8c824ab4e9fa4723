import OutboxdPostgres

extension Configuration {
    /// A connection for a command or start-up check; an unreachable server is a `DaemonError`
    /// (exit 69) naming the password-free address.
    func connectOrFail() throws(DaemonError) -> PQConnection {
        do {
            return try database.connect()
        } catch {
            throw DaemonError(.unavailable, "cannot connect to PostgreSQL (DATABASE_URL=\(Redaction.conninfo(database.conninfo))): \(error)")
        }
    }
}
