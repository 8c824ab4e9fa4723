import CMicroHTTPD
import Glibc
import OutboxdCore
import Synchronization

/// The HTTP/1.1 server on GNU libmicrohttpd, which parses requests (keep-alive, incremental
/// bodies, connection and memory limits, timeouts). Each connection has a thread of its own, and
/// each complete request goes to the `HTTPHandler` on that thread: handlers block on PostgreSQL,
/// and in libmicrohttpd's shared-thread modes one blocked handler would stall every other
/// connection on its thread (measured: p99 101 ms at 64 connections). Percent-escapes in the path
/// and query are decoded by the shim's `outboxd_mhd_unescape`, which leaves `%00` as it is. Every
/// libmicrohttpd call lives in this file.
public final class MHDServer: Sendable {
    public let configuration: HTTPServerConfiguration
    private let handler: any HTTPHandler
    private let logger: Logger

    private struct State {
        var daemon: DaemonPointer?
        var listenSocket: Int32 = -1
        var draining = false
        /// Set by `stop` once nothing is in flight (or at its deadline): from then on no request
        /// is taken up, since the connections are about to close.
        var closed = false
        var inFlight = 0
        var boundPort = 0
    }
    private let state = Mutex(State())

    /// Runs in `stop` between the end of its wait for requests in flight and the closing of the
    /// connections (tests use it to send a request into that window).
    let onDrained = Mutex<(@Sendable () -> Void)?>(nil)

    public init(configuration: HTTPServerConfiguration, handler: any HTTPHandler, logger: Logger = Logger(label: "http")) {
        self.configuration = configuration
        self.handler = handler
        self.logger = logger
    }

    /// The port actually bound (useful with port 0), or 0 before `start()`.
    public var port: Int { state.withLock { $0.boundPort } }

    /// Requests being handled right now.
    public var inFlight: Int { state.withLock { $0.inFlight } }

    /// Binds and starts serving on libmicrohttpd's threads. Throws naming the address when the
    /// bind fails. The server must be stopped with `stop(timeout:)` before it is released:
    /// libmicrohttpd holds an unretained pointer to it until then.
    public func start() throws {
        let address = try SocketAddress.resolve(host: configuration.host, port: configuration.port)
        var flags = MHD_USE_INTERNAL_POLLING_THREAD.rawValue | MHD_USE_THREAD_PER_CONNECTION.rawValue
            | MHD_USE_POLL.rawValue | MHD_USE_ITC.rawValue
        if address.family == AF_INET6 { flags |= MHD_USE_IPv6.rawValue }
        let context = Unmanaged.passUnretained(self).toOpaque()
        let daemon = address.withSockaddr { sockaddr in
            outboxd_mhd_start(flags, sockaddr, mhdAccessHandler, context, mhdRequestCompleted, context,
                              UInt32(configuration.maxConnections),
                              UInt32(configuration.idleTimeout.components.seconds),
                              configuration.maxHeaderBytes)
        }
        guard let daemon else {
            throw HTTPServerError("cannot listen on \(configuration.host):\(configuration.port) (address in use, or not an address of this machine?)")
        }
        let port = Int(outboxd_mhd_bind_port(daemon))
        state.withLock {
            $0.daemon = DaemonPointer(raw: daemon)
            $0.boundPort = port
        }
    }

    /// Stops accepting connections, lets requests in flight finish (their responses say
    /// `Connection: close`), then closes every connection. Waits at most `timeout` for the requests.
    public func stop(timeout: Duration) {
        guard let daemon = state.withLock({ state -> DaemonPointer? in
            state.draining = true
            return state.daemon
        }) else { return }
        let listenSocket = MHD_quiesce_daemon(daemon.raw)
        // A quiesced socket still completes handshakes into its backlog, where clients would hang
        // until stop. shutdown() makes the kernel refuse them now; the descriptor stays open
        // (libmicrohttpd's threads may still hold it) and is closed after MHD_stop_daemon.
        if listenSocket >= 0 { shutdown(listenSocket, Int32(SHUT_RDWR)) }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        // Requests that reach kept-alive connections meanwhile are still served (with Connection:
        // close); once none is in flight, the server is closed to new ones in the same step.
        while !state.withLock({ state in
            state.closed = state.inFlight == 0 || clock.now >= deadline
            return state.closed
        }) {
            usleep(2_000)
        }
        let abandoned = inFlight
        if abandoned > 0 {
            logger.warning("stop timeout reached with requests still in flight", ["requests": "\(abandoned)"])
        }
        onDrained.withLock { $0 }?()
        MHD_stop_daemon(daemon.raw)
        if listenSocket >= 0 { close(listenSocket) }
        state.withLock {
            $0.daemon = nil
            $0.boundPort = 0
        }
    }

    /// Counts a new request in, unless `stop` is done waiting: then it is not taken up. Checked
    /// and counted under one lock, so `stop` either waits for the request or the request never runs.
    fileprivate func begin() -> Bool {
        state.withLock { state in
            guard !state.closed else { return false }
            state.inFlight += 1
            return true
        }
    }

    fileprivate func end() {
        state.withLock { $0.inFlight -= 1 }
    }

    fileprivate var isDraining: Bool { state.withLock { $0.draining } }

    fileprivate func respond(to request: HTTPRequest) -> HTTPResponse {
        handler.handle(request)
    }

    fileprivate func log(_ message: String) {
        logger.error(message)
    }
}

/// A `struct MHD_Daemon *`. Safe to send: libmicrohttpd's daemon calls used here
/// (quiesce, info, stop) are thread-safe, and `stop` runs once under the server's lock discipline.
private struct DaemonPointer: @unchecked Sendable {
    let raw: OpaquePointer
}

/// Error starting the HTTP server; the message names the address.
public struct HTTPServerError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Per-request state between libmicrohttpd's calls: the headers, and the body read so far. Owned by
/// the connection's `con_cls` slot from the first call (retained) until the completion callback
/// releases it.
private final class RequestState {
    var headers: [(String, String)] = []
    var body: [UInt8] = []
    var tooLarge = false
    /// Counted in `inFlight` (false for a request refused once `stop` closed the server).
    var counted = true
}

/// Reads one kind of connection values (headers or query arguments) through the iterator below.
private final class ValueCollector {
    var pairs: [(String, String)] = []
}

private func mhdCollectValue(_ cls: UnsafeMutableRawPointer?, _ kind: MHD_ValueKind,
                             _ key: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?) -> MHD_Result {
    guard let cls, let key else { return .YES }
    let collector = Unmanaged<ValueCollector>.fromOpaque(cls).takeUnretainedValue()
    collector.pairs.append((String(cString: key), value.map { String(cString: $0) } ?? ""))
    return .YES
}

private func mhdValues(_ connection: OpaquePointer, _ kind: MHD_ValueKind) -> [(String, String)] {
    let collector = ValueCollector()
    withExtendedLifetime(collector) {
        _ = MHD_get_connection_values(connection, kind, mhdCollectValue, Unmanaged.passUnretained(collector).toOpaque())
    }
    return collector.pairs
}

/// libmicrohttpd's access handler: called once when the headers are in, once per body chunk, and
/// once more with no data when the body is complete. `cls` is the `MHDServer` (unretained; it
/// outlives the daemon).
private func mhdAccessHandler(_ cls: UnsafeMutableRawPointer?, _ connection: OpaquePointer?,
                              _ url: UnsafePointer<CChar>?, _ method: UnsafePointer<CChar>?,
                              _ version: UnsafePointer<CChar>?, _ uploadData: UnsafePointer<CChar>?,
                              _ uploadDataSize: UnsafeMutablePointer<Int>?,
                              _ conCls: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> MHD_Result {
    guard let cls, let connection, let conCls, let uploadDataSize else { return .NO }
    let server = Unmanaged<MHDServer>.fromOpaque(cls).takeUnretainedValue()
    let limit = server.configuration.maxBodyBytes

    guard let existing = conCls.pointee else {
        // First call: headers only.
        let state = RequestState()
        conCls.pointee = Unmanaged.passRetained(state).toOpaque()
        guard server.begin() else {
            // A request that reached a kept-alive connection after stop's wait for requests in
            // flight: the connection is about to close, so it must change nothing.
            state.counted = false
            return queue(.problem(503, title: "Service Unavailable", detail: "the server is shutting down", headers: [("Connection", "close")]),
                         on: connection, server: server)
        }
        state.headers = mhdValues(connection, .HEADER_KIND)
        if let refused = ambiguousFraming(state.headers) ?? repeatedSingleton(state.headers) {
            return queue(refused, on: connection, server: server)
        }
        if let declared = MHD_lookup_connection_value(connection, .HEADER_KIND, "Content-Length"),
           let length = Int(String(cString: declared)), length > limit {
            return queue(tooLarge(limit), on: connection, server: server)
        }
        // libmicrohttpd answers `Expect: 100-continue` with 100 before the next call; on a request
        // without a body (which must not carry it) followed by pipelined bytes, it then ran the
        // handler but closed the connection without sending its response. Such a request is
        // complete now, so it is answered now (no 100; libmicrohttpd closes after the answer).
        if state.headers.contains(where: { $0.0.lowercased() == "expect" }), !declaresBody(state.headers) {
            return queue(server.respond(to: request(connection, url, method, state)), on: connection, server: server)
        }
        return .YES
    }
    let state = Unmanaged<RequestState>.fromOpaque(existing).takeUnretainedValue()
    if uploadDataSize.pointee > 0 {
        let size = uploadDataSize.pointee
        if !state.tooLarge, let uploadData {
            if state.body.count + size > limit {
                state.tooLarge = true
                state.body = []
            } else {
                uploadData.withMemoryRebound(to: UInt8.self, capacity: size) {
                    state.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: size))
                }
            }
        }
        uploadDataSize.pointee = 0
        return .YES
    }
    if state.tooLarge {
        return queue(tooLarge(limit), on: connection, server: server)
    }
    return queue(server.respond(to: request(connection, url, method, state)), on: connection, server: server)
}

/// The complete request; hands the body over from `state`.
private func request(_ connection: OpaquePointer, _ url: UnsafePointer<CChar>?, _ method: UnsafePointer<CChar>?,
                     _ state: RequestState) -> HTTPRequest {
    defer { state.body = [] }
    return HTTPRequest(
        method: method.map { String(cString: $0) } ?? "GET",
        path: url.map { String(cString: $0) } ?? "/",
        query: mhdValues(connection, .GET_ARGUMENT_KIND).map { (name: $0.0, value: $0.1) },
        headers: HTTPHeaders(state.headers),
        body: state.body)
}

/// Whether the headers announce a body (RFC 9112 §6.3: without them a request has none).
private func declaresBody(_ headers: [(String, String)]) -> Bool {
    headers.contains { name, value in
        let name = name.lowercased()
        return name == "transfer-encoding" || (name == "content-length" && value != "0")
    }
}

/// 400 for a request whose body length is ambiguous: differing `Content-Length` values, or
/// `Content-Length` with `Transfer-Encoding` (RFC 9112 §6.3). libmicrohttpd would pick one reading
/// and go on, which is how requests are smuggled past a proxy that picks the other.
private func ambiguousFraming(_ headers: [(String, String)]) -> HTTPResponse? {
    let lengths = Set(headers.filter { $0.0.lowercased() == "content-length" }.map(\.1))
    let hasTransferEncoding = headers.contains { $0.0.lowercased() == "transfer-encoding" }
    guard lengths.count > 1 || (hasTransferEncoding && !lengths.isEmpty) else { return nil }
    let detail = lengths.count > 1 ? "conflicting Content-Length headers" : "Content-Length and Transfer-Encoding must not be sent together"
    return .problem(400, title: "Bad Request", detail: detail, headers: [("Connection", "close")])
}

/// Headers a request carries at most once; sent twice, the first would win silently (a body
/// labelled `application/json` and then `text/plain` was taken as JSON).
private let singletonHeaders = ["content-type", "authorization", "idempotency-key", "if-match", "host"]

/// 400 for a request that repeats one of `singletonHeaders`, naming it.
private func repeatedSingleton(_ headers: [(String, String)]) -> HTTPResponse? {
    let names = headers.map { $0.0.lowercased() }
    guard let repeated = singletonHeaders.first(where: { name in names.count { $0 == name } > 1 }),
          let spelled = headers.first(where: { $0.0.lowercased() == repeated })?.0 else { return nil }
    return .problem(400, title: "Bad Request", detail: "the \(spelled.prefix(64)) header appears more than once; send it once",
                    headers: [("Connection", "close")])
}

private func tooLarge(_ limit: Int) -> HTTPResponse {
    .problem(413, title: "Content Too Large", detail: "request body exceeds \(limit) bytes",
             headers: [("Connection", "close")])
}

private func queue(_ response: HTTPResponse, on connection: OpaquePointer, server: MHDServer) -> MHD_Result {
    let mhdResponse = response.body.withUnsafeBytes { bytes in
        MHD_create_response_from_buffer(bytes.count, UnsafeMutableRawPointer(mutating: bytes.baseAddress),
                                        .RESPMEM_MUST_COPY)
    }
    guard let mhdResponse else {
        server.log("cannot allocate an HTTP response")
        return .NO
    }
    defer { MHD_destroy_response(mhdResponse) }
    for header in response.headers {
        _ = MHD_add_response_header(mhdResponse, header.name, header.value)
    }
    if server.isDraining {
        _ = MHD_add_response_header(mhdResponse, "Connection", "close")
    }
    return MHD_queue_response(connection, UInt32(response.status), mhdResponse)
}

/// Called when a request ends (answered, timed out or aborted): releases its state.
private func mhdRequestCompleted(_ cls: UnsafeMutableRawPointer?, _ connection: OpaquePointer?,
                                 _ conCls: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                                 _ termination: MHD_RequestTerminationCode) {
    guard let cls, let conCls, let pointer = conCls.pointee else { return }
    let state = Unmanaged<RequestState>.fromOpaque(pointer)
    let counted = state.takeUnretainedValue().counted
    state.release()
    conCls.pointee = nil
    if counted { Unmanaged<MHDServer>.fromOpaque(cls).takeUnretainedValue().end() }
}
