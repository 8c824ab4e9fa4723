import Dispatch
import OutboxdCore
import Synchronization

/// A small pool of connections for the HTTP threads.
///
/// Connections are opened lazily. When a connection turns out broken (the server restarted or
/// went away), it is closed and so is every idle one, since they share its fate: the next caller
/// connects afresh, so the first request after a restart succeeds.
public final class PostgresPool: Sendable {
    private struct State {
        var idle: [PQConnection] = []
        var closed = false
    }

    public let configuration: PostgresPoolConfiguration
    private let state = Mutex(State())
    /// One permit per connection that may be in use.
    private let permits: DispatchSemaphore

    public init(configuration: PostgresPoolConfiguration) {
        self.configuration = configuration
        self.permits = DispatchSemaphore(value: max(1, configuration.maxConnections))
    }

    /// Runs `body` with a connection of its own. Errors from `body` pass through; a connection
    /// that broke during it is discarded.
    public func withConnection<T>(_ body: (PQConnection) throws -> T) throws -> T {
        let connection = try acquire()
        defer { release(connection) }
        return try body(connection)
    }

    /// Closes idle connections and refuses new work. Connections in use close when returned.
    public func close() {
        let idle = state.withLock { state in
            state.closed = true
            defer { state.idle.removeAll() }
            return state.idle
        }
        idle.forEach { $0.close() }
    }

    /// Connections currently idle in the pool (for tests and metrics).
    public var idleCount: Int { state.withLock { $0.idle.count } }

    private func acquire() throws -> PQConnection {
        guard permits.wait(timeout: configuration.acquireTimeout.fromNow) == .success else {
            throw PostgresError(kind: .poolTimeout, message: "all \(configuration.maxConnections) connections busy")
        }
        let reused: PQConnection?
        do {
            reused = try state.withLock { state -> PQConnection? in
                if state.closed { throw PostgresError(kind: .closed, message: "pool closed") }
                return state.idle.popLast()
            }
        } catch {
            permits.signal()
            throw error
        }
        if let reused {
            if reused.checkAlive() { return reused }
            discard(reused)
        }
        do {
            return try configuration.connect()
        } catch {
            permits.signal()
            throw error
        }
    }

    /// Closes a broken connection and every idle one, which share its fate.
    private func discard(_ connection: PQConnection) {
        connection.close()
        let stale = state.withLock { state in
            defer { state.idle.removeAll() }
            return state.idle
        }
        stale.forEach { $0.close() }
    }

    private func release(_ connection: PQConnection) {
        defer { permits.signal() }
        if connection.isBroken {
            discard(connection)
            return
        }
        let keep = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.idle.append(connection)
            return true
        }
        if !keep { connection.close() }
    }
}
