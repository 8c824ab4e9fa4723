/// Settings of the HTTP listener.
public struct HTTPServerConfiguration: Sendable {
    /// Address to bind. Config key `HTTP_LISTEN` (host:port); default `127.0.0.1`.
    public var host: String = "127.0.0.1"
    /// Port to bind; 0 picks a free one. Config key `HTTP_LISTEN`; default 8080.
    public var port: Int = 8080
    /// Largest accepted request body. Config key `HTTP_MAX_BODY_BYTES`; default 65536.
    public var maxBodyBytes: Int = 64 * 1024
    /// Most open connections, each served by a thread of its own. Config key
    /// `HTTP_MAX_CONNECTIONS`; default 1024.
    public var maxConnections: Int = 1024
    /// Idle connection timeout. Config key `HTTP_IDLE_TIMEOUT`; default 30 s.
    public var idleTimeout: Duration = .seconds(30)
    /// Per-connection buffer for the request line and headers (larger headers get 431).
    /// Config key `HTTP_MAX_HEADER_BYTES`; default 16384.
    public var maxHeaderBytes: Int = 16 * 1024

    public init() {}
}
