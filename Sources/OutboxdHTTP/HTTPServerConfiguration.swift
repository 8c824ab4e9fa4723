/// Settings of the HTTP listener.
public struct HTTPServerConfiguration: Sendable {
    /// Address to bind. Config key `HTTP_LISTEN` (host:port); default `127.0.0.1`.
    public var host: String = "127.0.0.1"
    /// Port to bind; 0 picks a free one. Config key `HTTP_LISTEN`; default 8080.
    public var port: Int = 8080
    /// Largest accepted request body. Config key `HTTP_MAX_BODY_BYTES`; default 65536.
    public var maxBodyBytes: Int = 64 * 1024
    /// Most open connections; more are closed at once. Connections cost no thread (one event loop
    /// serves them all). Config key `HTTP_MAX_CONNECTIONS`; default 10000.
    public var maxConnections: Int = 10_000
    /// Most open connections from one client address (0: no limit). Config key
    /// `HTTP_MAX_CONNECTIONS_PER_ADDRESS`; default 256.
    public var maxConnectionsPerAddress: Int = 256
    /// Threads that run request handlers (which block on PostgreSQL); complete requests queue for
    /// them. Config key `HTTP_WORKERS`; default 16.
    public var workers: Int = 16
    /// Idle connection timeout (silence). Config key `HTTP_IDLE_TIMEOUT`; default 30 s.
    public var idleTimeout: Duration = .seconds(30)
    /// Deadline for a whole request, head and body, counted from when the connection opened or sent
    /// its last response: a client trickling bytes is cut off too. Config key `HTTP_REQUEST_TIMEOUT`;
    /// default 30 s.
    public var requestTimeout: Duration = .seconds(30)
    /// Per-connection buffer for the request line and headers (larger headers get 431).
    /// Config key `HTTP_MAX_HEADER_BYTES`; default 16384.
    public var maxHeaderBytes: Int = 16 * 1024

    public init() {}

    /// Throws unless `host` resolves (as `MHDServer.start` resolves it) to an address of this
    /// machine: binds a socket to it on a port the system picks, and closes it. `port` is not
    /// tried, so a daemon already listening there does not make this fail.
    public func checkHostIsLocal() throws(HTTPServerError) {
        let address: SocketAddress
        do {
            address = try SocketAddress.resolve(host: host, port: 0)
        } catch {
            throw error as? HTTPServerError ?? HTTPServerError("\(error)")
        }
        if let failure = address.bindFailure() {
            throw HTTPServerError("\(host.prefix(64)) is not an address of this machine (bind: \(failure))")
        }
    }
}
