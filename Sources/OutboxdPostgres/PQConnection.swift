import CLibPQ
import Foundation
import OutboxdCore

/// One libpq connection. Every libpq call of the project lives in this file, but for the library's
/// version (`PQLibrary.swift`).
///
/// Not thread-safe: a connection is used by one thread at a time (the pool hands it out
/// exclusively, and the relay and consumers own theirs). `@unchecked Sendable` only lets the pool
/// move it between threads; it wraps a single `PGconn` pointer and a statement cache touched by the
/// owning thread alone.
public final class PQConnection: @unchecked Sendable {
    private var handle: OpaquePointer?
    private var prepared: Set<String> = []

    /// Opens a connection. `conninfo` is a libpq connection string or URI (empty: libpq's defaults
    /// and `PG*` environment variables). The session is set to UTC, ISO dates and UTF8: a
    /// `client_encoding` in `conninfo`, `PGCLIENTENCODING`, or a role or database default of
    /// another encoding never changes the bytes read or written (Swift strings are UTF-8). With
    /// `keepalive`, TCP keepalives are set on both ends (libpq's keywords come before the
    /// conninfo, so that it may override them).
    ///
    /// With `replication`, a logical replication connection (`replication=database`): it runs
    /// simple SQL and replication commands only (no parameters), such as `startLogicalReplication`;
    /// its keepalive also bounds `wal_sender_timeout`, so the server ends the stream of a client that
    /// vanished (and frees its slot for a standby) within `deadAfter` too, in place of the server's
    /// `tcp_user_timeout` (`PostgresKeepalive.replicationServerSettings`).
    public init(conninfo: String, connectTimeoutSeconds: Int = 5, applicationName: String = "outboxd",
                statementTimeoutMilliseconds: Int = 0, keepalive: PostgresKeepalive? = nil, replication: Bool = false) throws {
        // Keywords after `dbname` override what its conninfo sets.
        let before = keepalive?.libpqParameters ?? []
        let keywords = before.map(\.0) + ["dbname", "connect_timeout", "fallback_application_name", "client_encoding"] + (replication ? ["replication"] : [])
        let values = before.map(\.1) + [conninfo, String(max(2, connectTimeoutSeconds)), applicationName, "UTF8"] + (replication ? ["database"] : [])
        let conn: OpaquePointer? = withCStringArray(keywords) { keywordPointers in
            withCStringArray(values) { valuePointers in
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let conn else {
            throw PostgresError(kind: .connectionUnavailable, message: "out of memory creating a connection")
        }
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(conn)
            throw PostgresError(kind: .connectionUnavailable, message: message)
        }
        handle = conn
        PQsetNoticeProcessor(conn, pqIgnoreNotice, nil)
        do {
            try executeScript("SET TIME ZONE 'UTC'; SET DateStyle TO 'ISO'; SET IntervalStyle TO 'iso_8601'; SET client_encoding TO 'UTF8'")
            if replication {
                precondition(statementTimeoutMilliseconds == 0, "a replication connection takes no statement timeout")
                if let keepalive {
                    // No parameters on a replication connection: the settings are integers.
                    let settings = keepalive.replicationServerSettings
                    try executeScript(settings.map { "SET \($0.0) = \(Int($0.1)!)" }.joined(separator: "; "))
                }
                return
            }
            if statementTimeoutMilliseconds > 0 {
                _ = try query("SELECT set_config('statement_timeout', $1, false)", [String(statementTimeoutMilliseconds)])
            }
            if let keepalive {
                let settings = keepalive.serverSettings
                _ = try query("SELECT set_config(name, setting, false) FROM unnest($1::text[], $2::text[]) AS s(name, setting)",
                              [settings.map(\.0), settings.map(\.1)])
            }
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    /// What libpq reads from `conninfo` (a `key=value` string or a URI, percent-decoded) without
    /// connecting: the options it sets, or libpq's complaint, which may quote the text (a
    /// password too) and so is not for logs. Text that is neither (no `=`, no URI scheme) is a
    /// database name to libpq, and is not parsed.
    public static func parseConninfo(_ conninfo: String) -> Result<[String: String], ConninfoError> {
        guard conninfo.contains("=") || conninfo.hasPrefix("postgresql://") || conninfo.hasPrefix("postgres://") else {
            return .success(conninfo.isEmpty ? [:] : ["dbname": conninfo])
        }
        var error: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &error) else {
            defer { if let error { PQfreemem(error) } }
            let message = error.map { String(cString: $0) } ?? "out of memory"
            return .failure(ConninfoError(libpqMessage: message.trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        defer { PQconninfoFree(options) }
        var values: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { values[String(cString: keyword)] = String(cString: value) }
            option += 1
        }
        return .success(values)
    }

    /// libpq's complaint about a conninfo; it may quote the text, a password too.
    public struct ConninfoError: Error, Sendable {
        public let libpqMessage: String
    }

    /// Closes the connection; later calls fail with `connectionUnavailable`.
    public func close() {
        if let handle { PQfinish(handle) }
        handle = nil
    }

    /// True when the connection is closed or libpq reports it broken; the pool discards it.
    public var isBroken: Bool {
        guard let handle else { return true }
        return PQstatus(handle) != CONNECTION_OK
    }

    /// False when the server has spoken on this idle connection or closed it. A session that
    /// does not LISTEN gets unsolicited input only when the server ends it (a FATAL message and
    /// EOF on restart or `pg_terminate_backend`), so any readable data counts as dead. Never blocks.
    public func checkAlive() -> Bool {
        guard let handle, PQstatus(handle) == CONNECTION_OK else { return false }
        var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) == 0
    }

    /// The server's backend process id (for tests and `pg_terminate_backend`).
    public var backendPID: Int32 {
        guard let handle else { return 0 }
        return PQbackendPID(handle)
    }

    /// Runs one parameterised statement (unnamed, parsed each time).
    @discardableResult
    public func query(_ sql: String, _ parameters: [(any PostgresParameter)?] = []) throws -> PostgresRows {
        let conn = try liveHandle()
        let result = withParameterPointers(parameters) { values in
            PQexecParams(conn, sql, Int32(parameters.count), nil, values, nil, nil, 0)
        }
        return try consume(result)
    }

    /// Runs a named statement, preparing it on this connection the first time (unless it is
    /// `plannedEachRun`).
    @discardableResult
    public func query(_ statement: PostgresStatement, _ parameters: [(any PostgresParameter)?] = []) throws -> PostgresRows {
        if statement.plannedEachRun { return try query(statement.sql, parameters) }
        let conn = try liveHandle()
        if !prepared.contains(statement.name) {
            _ = try consume(PQprepare(conn, statement.name, statement.sql, 0, nil))
            prepared.insert(statement.name)
        }
        let result = withParameterPointers(parameters) { values in
            PQexecPrepared(conn, statement.name, Int32(parameters.count), values, nil, nil, 0)
        }
        return try consume(result)
    }

    /// Sends `statements` in one flight (libpq pipeline mode: one round trip instead of one per
    /// statement) and returns without waiting, so the server works on them while the caller does
    /// something else (on another connection); `finishPipeline` then reads the results. Nothing else may run on this connection in between. When the pipeline
    /// cannot be sent, the connection is closed (the server rolls back what of it ran) and this throws.
    public func startPipeline(_ statements: [PipelinedStatement]) throws -> PendingPipeline {
        let conn = try liveHandle()
        guard PQenterPipelineMode(conn) == 1 else { throw abandonPipeline() }
        // Per result expected: the name of a statement being prepared, or nil for a statement's rows.
        var expected: [String?] = []
        for statement in statements {
            let sent: Int32
            switch statement {
            case .command(let sql):
                sent = PQsendQueryParams(conn, sql, 0, nil, nil, nil, nil, 0)
            case .prepared(let statement, let parameters) where statement.plannedEachRun:
                sent = withParameterPointers(parameters) { values in
                    PQsendQueryParams(conn, statement.sql, Int32(parameters.count), nil, values, nil, nil, 0)
                }
            case .prepared(let statement, let parameters):
                if !prepared.contains(statement.name), !expected.contains(statement.name) {
                    guard PQsendPrepare(conn, statement.name, statement.sql, 0, nil) == 1 else { throw abandonPipeline() }
                    expected.append(statement.name)
                }
                sent = withParameterPointers(parameters) { values in
                    PQsendQueryPrepared(conn, statement.name, Int32(parameters.count), values, nil, nil, 0)
                }
            }
            guard sent == 1 else { throw abandonPipeline() }
            expected.append(nil)
        }
        guard PQpipelineSync(conn) == 1 else { throw abandonPipeline() }
        return PendingPipeline(expected: expected)
    }

    /// The results of a pipeline sent with `startPipeline`: those of the statements that produce
    /// rows or tags, in order. When one fails, the server skips the rest and its error is thrown; a
    /// transaction begun in the pipeline is then aborted and needs `rollbackIfPossible()`, as after
    /// a failed `query`.
    @discardableResult
    public func finishPipeline(_ pending: PendingPipeline) throws -> [PostgresRows] {
        let conn = try liveHandle()
        var results: [PostgresRows] = []
        var failure: (any Error)?
        for preparing in pending.expected {
            guard let result = PQgetResult(conn) else { throw abandonPipeline() }
            if PQresultStatus(result) == PGRES_PIPELINE_ABORTED {
                PQclear(result)
            } else {
                do {
                    let rows = try consume(result)
                    if let preparing { prepared.insert(preparing) } else { results.append(rows) }
                } catch {
                    failure = failure ?? error
                    if isBroken { throw error }
                }
            }
            guard PQgetResult(conn) == nil else { throw abandonPipeline() } // each result ends with a NULL
        }
        guard let sync = PQgetResult(conn) else { throw abandonPipeline() }
        let synced = PQresultStatus(sync) == PGRES_PIPELINE_SYNC
        PQclear(sync)
        guard synced, PQexitPipelineMode(conn) == 1 else { throw abandonPipeline() }
        if let failure { throw failure }
        return results
    }

    /// A pipeline that cannot be sent, or whose results cannot be read in order, leaves the session
    /// in an unknown state: the connection is closed (callers reconnect) and the error says why.
    private func abandonPipeline() -> PostgresError {
        let error = connectionError()
        prepared.removeAll()
        close()
        return error
    }

    /// Runs SQL text that may hold several statements and no parameters (migration files,
    /// fixed session settings). Never pass text built from values here.
    public func executeScript(_ sql: String) throws {
        let conn = try liveHandle()
        _ = try consume(PQexec(conn, sql))
    }

    /// Runs `body` inside BEGIN/COMMIT; rolls back when it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try begin()
        do {
            let value = try body()
            try commit()
            return value
        } catch {
            rollbackIfPossible()
            throw error
        }
    }

    /// `BEGIN`, for a transaction that spans more than one call (prefer `transaction`).
    public func begin() throws { try executeScript("BEGIN") }

    public func commit() throws { try executeScript("COMMIT") }

    public func rollback() throws { try executeScript("ROLLBACK") }

    /// `ROLLBACK` unless the connection is broken (the server rolls back then); errors ignored.
    public func rollbackIfPossible() {
        if !isBroken { try? executeScript("ROLLBACK") }
    }

    /// The socket, for waiting on notifications with poll(2) beside other descriptors.
    public var socketDescriptor: Int32 {
        guard let handle else { return -1 }
        return PQsocket(handle)
    }

    /// `LISTEN` on `channel` (quoted as an identifier).
    public func listen(_ channel: String) throws {
        try executeScript("LISTEN \(try quoteIdentifier(channel))")
    }

    /// Reads what arrived on the socket and returns how many notifications were pending
    /// (discarding them). Never blocks; throws when the connection broke.
    public func drainNotifications() throws -> Int {
        let conn = try liveHandle()
        guard PQconsumeInput(conn) == 1 else { throw connectionError() }
        var count = 0
        while let notification = PQnotifies(conn) {
            PQfreemem(notification)
            count += 1
        }
        return count
    }

    /// Quotes an identifier (a database or role name) for the few statements that cannot take
    /// parameters, such as `CREATE DATABASE`.
    public func quoteIdentifier(_ identifier: String) throws -> String {
        let conn = try liveHandle()
        guard let quoted = PQescapeIdentifier(conn, identifier, identifier.utf8.count) else {
            throw PostgresError(kind: .server, message: String(cString: PQerrorMessage(conn)))
        }
        defer { PQfreemem(quoted) }
        return String(cString: quoted)
    }

    /// Quotes a string literal for the few statements that cannot take parameters
    /// (replication commands).
    public func quoteLiteral(_ text: String) throws -> String {
        let conn = try liveHandle()
        guard let quoted = PQescapeLiteral(conn, text, text.utf8.count) else {
            throw PostgresError(kind: .server, message: String(cString: PQerrorMessage(conn)))
        }
        defer { PQfreemem(quoted) }
        return String(cString: quoted)
    }

    // MARK: Logical replication (a connection opened with `replication: true`)

    /// `START_REPLICATION SLOT <slot> LOGICAL <from> (<options>)`: the connection streams the
    /// slot's changes from `from` (0/0: from the slot's confirmed position) until it closes. Read
    /// them with `readReplication`, confirm with `sendReplication` (a status update).
    public func startLogicalReplication(slot: String, from: LSN, options: [(name: String, value: String)]) throws {
        let conn = try liveHandle()
        let list = try options.map { "\(try quoteIdentifier($0.name)) \(try quoteLiteral($0.value))" }.joined(separator: ", ")
        let command = "START_REPLICATION SLOT \(try quoteIdentifier(slot)) LOGICAL \(from)" + (list.isEmpty ? "" : " (\(list))")
        guard let result = PQexec(conn, command) else { throw connectionError() }
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COPY_BOTH else {
            if PQstatus(conn) != CONNECTION_OK { throw connectionError(result) }
            throw serverError(result)
        }
    }

    /// The next message of the replication stream (`ReplicationMessage`'s bytes), waiting up to
    /// `timeout` for one; nil when none came. Throws when the server ended the stream (its error,
    /// e.g. the slot was dropped) or the connection broke.
    public func readReplication(timeout: Duration) throws -> [UInt8]? {
        let conn = try liveHandle()
        let deadline = ContinuousClock.now + timeout
        // Past the deadline the socket is still read once, without waiting: what the server sent
        // counts as waiting even with a zero timeout.
        var lastLook = false
        while true {
            var buffer: UnsafeMutablePointer<CChar>?
            let length = PQgetCopyData(conn, &buffer, 1)
            if length > 0, let buffer {
                defer { PQfreemem(buffer) }
                return Array(UnsafeRawBufferPointer(start: buffer, count: Int(length)))
            }
            if length == -1 {
                // The server ended the copy: its result says why.
                let result = PQgetResult(conn)
                defer { if let result { PQclear(result) } }
                if let result, PQresultStatus(result) == PGRES_FATAL_ERROR { throw serverError(result) }
                throw PostgresError(kind: .connectionUnavailable, message: "the server ended the replication stream")
            }
            if length == -2 { throw connectionError() }
            let left = deadline - ContinuousClock.now
            if left <= .zero {
                if lastLook { return nil }
                lastLook = true
            }
            var descriptor = pollfd(fd: PQsocket(conn), events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, lastLook ? 0 : Int32(clamping: max(1, left.wholeMilliseconds)))
            if ready < 0 && errno != EINTR { throw PostgresError(kind: .connectionUnavailable, message: "poll: \(String(cString: strerror(errno)))") }
            if ready > 0, PQconsumeInput(conn) != 1 { throw connectionError() }
        }
    }

    /// Sends a message on the replication stream (a standby status update) and flushes it.
    public func sendReplication(_ bytes: [UInt8]) throws {
        let conn = try liveHandle()
        let sent = bytes.withUnsafeBytes { PQputCopyData(conn, $0.baseAddress?.assumingMemoryBound(to: CChar.self), Int32($0.count)) }
        guard sent == 1, PQflush(conn) == 0 else { throw connectionError() }
    }

    private func liveHandle() throws -> OpaquePointer {
        guard let handle else {
            throw PostgresError(kind: .connectionUnavailable, message: "connection is closed")
        }
        return handle
    }

    private func consume(_ result: OpaquePointer?) throws -> PostgresRows {
        guard let result else {
            throw connectionError()
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return PostgresRows(columns: [], flatCells: [], affectedRows: affectedRows(result))
        case PGRES_TUPLES_OK:
            return copyRows(result)
        default:
            if let handle, PQstatus(handle) != CONNECTION_OK {
                prepared.removeAll()
                throw connectionError(result)
            }
            throw serverError(result)
        }
    }

    private func copyRows(_ result: OpaquePointer) -> PostgresRows {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var cells: [String?] = []
        cells.reserveCapacity(rowCount * columnCount)
        for row in 0..<Int32(rowCount) {
            for column in 0..<Int32(columnCount) {
                if PQgetisnull(result, row, column) == 1 {
                    cells.append(nil)
                } else {
                    let text = UnsafeRawBufferPointer(start: PQgetvalue(result, row, column), count: Int(PQgetlength(result, row, column)))
                    cells.append(String(decoding: text, as: UTF8.self))
                }
            }
        }
        return PostgresRows(columns: columns, flatCells: cells, affectedRows: rowCount)
    }

    private func affectedRows(_ result: OpaquePointer) -> Int {
        guard let tag = PQcmdTuples(result) else { return 0 }
        return Int(String(cString: tag)) ?? 0
    }

    private func field(_ result: OpaquePointer, _ code: Character) -> String? {
        guard let value = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
        return String(cString: value)
    }

    private func serverError(_ result: OpaquePointer) -> PostgresError {
        PostgresError(kind: .server,
                      code: PostgresError.Code(field(result, "C") ?? ""),
                      message: field(result, "M") ?? String(cString: PQresultErrorMessage(result)),
                      detail: field(result, "D"),
                      hint: field(result, "H"),
                      constraint: field(result, "n"))
    }

    private func connectionError(_ result: OpaquePointer? = nil) -> PostgresError {
        let message = handle.map { String(cString: PQerrorMessage($0)) } ?? "connection is closed"
        let code = result.flatMap { field($0, "C") } ?? ""
        return PostgresError(kind: .connectionUnavailable, code: PostgresError.Code(code),
                             message: message.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// Drops server NOTICEs (e.g. "relation already exists, skipping") instead of printing them on
/// stderr, where they would break the one-line-per-event log.
private func pqIgnoreNotice(_ context: UnsafeMutableRawPointer?, _ message: UnsafePointer<CChar>?) {}

/// Calls `body` with a NULL-terminated array of C strings that live for the call.
private func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers: [UnsafePointer<CChar>?] = copies.map { UnsafePointer($0) } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// Calls `body` with the parameters as C strings in text format (NULL for SQL NULL).
private func withParameterPointers<R>(_ parameters: [(any PostgresParameter)?],
                                      _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    if parameters.isEmpty { return body(nil) }
    let copies: [UnsafeMutablePointer<CChar>?] = parameters.map { $0.map { strdup($0.postgresText) } ?? nil }
    defer { copies.forEach { free($0) } }
    let pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
}
