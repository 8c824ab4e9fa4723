import CMicroHTTPD
import Foundation
import Glibc
import OutboxdCore
import Synchronization

/// The HTTP/1.1 server on GNU libmicrohttpd, which parses requests (keep-alive, incremental
/// bodies, memory limits, idle timeouts). One event-loop thread of ours runs libmicrohttpd over
/// epoll for every connection, so an open connection costs no thread: a flood of idle or
/// trickling connections is held cheaply, cut off by the per-address limit and the request
/// deadline (`ConnectionTable`). Each complete request is suspended (`MHD_suspend_connection`)
/// and handed to a bounded pool of worker threads (`HTTPWorkerPool`), since handlers block on
/// PostgreSQL; its response resumes the connection. A deferred response (`.later`) holds the
/// connection without a worker until it is resolved. Percent-escapes in the path and query are
/// decoded by the shim's `outboxd_mhd_unescape`, which leaves `%00` as it is. The query is split
/// here, not by libmicrohttpd (see `mhdURIReceived`), and the head is checked by
/// `RequestHeadCheck` before any body is read. Every libmicrohttpd call lives in this file.
public final class MHDServer: Sendable {
    public let configuration: HTTPServerConfiguration
    public let handler: any HTTPHandler
    private let logger: Logger

    private struct State {
        var daemon: DaemonPointer?
        var listenSocket: Int32 = -1
        var draining = false
        var quiesceRequested = false
        /// Set by `stop` once nothing is in flight (or at its deadline): from then on no request
        /// is taken up, since the connections are about to close.
        var closed = false
        /// Set by `stop` just before the connections close: no connection is resumed after it.
        var resumeClosed = false
        var inFlight = 0
        var boundPort = 0
        var table: ConnectionTable
        /// Open connections by table id, for closing those past their deadline.
        var sockets: [Int: Int32] = [:]
        /// Requests whose connection is suspended (handler running, or response deferred).
        var suspended: [ObjectIdentifier: RequestState] = [:]
        var deferred = 0
        var lastLoopTurn: ContinuousClock.Instant = .now
        /// When the last "limit reached" line was logged, per reason (at most one a minute).
        var refusalLogged: [ConnectionTable.Refusal: ContinuousClock.Instant] = [:]
    }
    private let state: Mutex<State>
    private let pool = Mutex<HTTPWorkerPool?>(nil)
    private let loopRunning = Atomic<Bool>(false)
    /// The event loop's thread, from `start` to `stop`.
    private let loopThread = Mutex<WorkerThread?>(nil)
    /// Woken after a worker resumed a connection, so the loop runs libmicrohttpd at once (its own
    /// signal does not end the wait of an external epoll loop).
    private let resumed = Wakeup()

    /// Runs in `stop` between the end of its wait for requests in flight and the closing of the
    /// connections (tests use it to send a request into that window).
    let onDrained = Mutex<(@Sendable () -> Void)?>(nil)

    public init(configuration: HTTPServerConfiguration, handler: any HTTPHandler, logger: Logger = Logger(label: "http")) {
        self.configuration = configuration
        self.handler = handler
        self.logger = logger
        state = Mutex(State(table: ConnectionTable(limits: .init(maxConnections: configuration.maxConnections,
                                                                  maxPerAddress: configuration.maxConnectionsPerAddress,
                                                                  requestTimeout: configuration.requestTimeout))))
    }

    /// The port actually bound (useful with port 0), or 0 before `start()`.
    public var port: Int { state.withLock { $0.boundPort } }

    /// Requests being handled right now (including those waiting for a worker or a deferred answer).
    public var inFlight: Int { state.withLock { $0.inFlight } }

    public var status: HTTPServerStatus {
        let workers = pool.withLock { $0 }
        let busy = workers?.busy
        return state.withLock { state in
            var status = HTTPServerStatus()
            status.connections = state.table.count
            status.maxConnections = state.table.limits.maxConnections
            status.refused = state.table.refused
            status.requestTimeouts = state.table.timedOut
            status.queued = workers?.queued ?? 0
            status.busyWorkers = busy?.count ?? 0
            status.workers = workers?.size ?? 0
            status.deferred = state.deferred
            status.oldestHandlerSince = busy?.oldestSince
            status.lastLoopTurn = state.lastLoopTurn
            return status
        }
    }

    /// Binds, then serves on an event-loop thread and `workers` handler threads. Throws naming the
    /// address when the bind fails. The server must be stopped with `stop(timeout:)` before it is
    /// released: libmicrohttpd holds an unretained pointer to it until then.
    public func start() throws {
        let address = try SocketAddress.resolve(host: configuration.host, port: configuration.port)
        var flags = MHD_USE_EPOLL.rawValue | MHD_ALLOW_SUSPEND_RESUME.rawValue
        if address.family == AF_INET6 { flags |= MHD_USE_IPv6.rawValue }
        let context = Unmanaged.passUnretained(self).toOpaque()
        // libmicrohttpd's own limit sits above ours, so ours (checked in the accept policy, with a
        // count by reason) is the one that acts.
        let daemon = address.withSockaddr { sockaddr in
            outboxd_mhd_start(flags, sockaddr, mhdAcceptPolicy, context, mhdAccessHandler, context, mhdRequestCompleted, context,
                              mhdConnectionNotify, context, mhdURIReceived, context,
                              UInt32(configuration.maxConnections + 64),
                              UInt32(configuration.idleTimeout.components.seconds),
                              configuration.maxHeaderBytes, 1024)
        }
        guard let daemon else {
            throw HTTPServerError("cannot listen on \(configuration.host):\(configuration.port) (address in use, or not an address of this machine?)")
        }
        let port = Int(outboxd_mhd_bind_port(daemon))
        state.withLock {
            $0.daemon = DaemonPointer(raw: daemon)
            $0.boundPort = port
            $0.lastLoopTurn = .now
        }
        pool.withLock { $0 = HTTPWorkerPool(size: configuration.workers, name: "http") }
        loopRunning.store(true, ordering: .releasing)
        let pointer = DaemonPointer(raw: daemon)
        // Ends only through `stop`, which clears `loopRunning` first; the loop turns at least every 50 ms.
        let thread = WorkerThread(name: "http-loop")
        loopThread.withLock { $0 = thread }
        thread.start(ended: { _ in }, running: { [self] _ in loop(pointer) })
    }

    /// The event loop: a poll of libmicrohttpd's epoll descriptor and of `resumed` (at most until
    /// libmicrohttpd's next timeout, and 50 ms), a non-blocking run of libmicrohttpd, then the
    /// request deadline and the requests `stop` makes of the loop.
    private func loop(_ daemon: DaemonPointer) {
        var lastSweep = ContinuousClock.now
        let epoll = outboxd_mhd_epoll_fd(daemon.raw)
        while loopRunning.load(ordering: .acquiring) {
            var timeout: UInt64 = 50
            let wait = MHD_get_timeout(daemon.raw, &timeout) == .YES ? min(timeout, 50) : 50
            _ = Wakeup.wait(for: [resumed], timeout: .milliseconds(Int64(wait)), socket: epoll)
            _ = MHD_run(daemon.raw)
            let now = ContinuousClock.now
            let sweep = now - lastSweep >= .milliseconds(250)
            if sweep { lastSweep = now }
            let (quiesce, expired) = state.withLock { state -> (Bool, [Int32]) in
                state.lastLoopTurn = now
                let quiesce = state.quiesceRequested && state.listenSocket == -1
                return (quiesce, sweep ? state.table.expired(now: now).compactMap { state.sockets[$0] } : [])
            }
            // libmicrohttpd sees the end of the stream and closes the connection on its next round.
            for socket in expired { shutdown(socket, Int32(SHUT_RDWR)) }
            if quiesce {
                let listenSocket = MHD_quiesce_daemon(daemon.raw)
                // A quiesced socket still completes handshakes into its backlog, where clients would
                // hang until stop. shutdown() makes the kernel refuse them now; the descriptor is
                // closed after MHD_stop_daemon.
                if listenSocket >= 0 { shutdown(listenSocket, Int32(SHUT_RDWR)) }
                state.withLock { $0.listenSocket = listenSocket >= 0 ? listenSocket : -2 }
            }
        }
    }

    /// Stops accepting connections, lets requests in flight finish (their responses say
    /// `Connection: close`), then closes every connection. Waits at most `timeout` for the requests.
    public func stop(timeout: Duration) {
        guard let daemon = state.withLock({ state -> DaemonPointer? in
            guard !state.draining else { return nil }
            state.draining = true
            state.quiesceRequested = true
            return state.daemon
        }) else { return }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while state.withLock({ $0.listenSocket == -1 }) && clock.now < deadline {
            usleep(1_000)
        }
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
        loopRunning.store(false, ordering: .releasing)
        loopThread.withLock { $0 }?.stop(deadline: nil)
        // libmicrohttpd must not stop with suspended connections: resume each (its handler, if still
        // running, finds the server closed and changes nothing more on the connection).
        let suspended = state.withLock { state -> [RequestState] in
            state.resumeClosed = true
            defer { state.suspended = [:] }
            return Array(state.suspended.values)
        }
        for request in suspended {
            if let connection = request.connection { MHD_resume_connection(connection) }
        }
        MHD_stop_daemon(daemon.raw)
        let listenSocket = state.withLock { $0.listenSocket }
        if listenSocket >= 0 { close(listenSocket) }
        pool.withLock { $0 }?.stop()
        state.withLock {
            $0.daemon = nil
            $0.boundPort = 0
            $0.listenSocket = -1
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

    /// Accept policy: whether a connection from `address` may open (on the loop thread).
    fileprivate func admit(_ address: ClientAddress) -> Bool {
        let (refusal, log, open) = state.withLock { state -> (ConnectionTable.Refusal?, Bool, Int) in
            guard let refusal = state.table.admit(address) else { return (nil, false, 0) }
            let now = ContinuousClock.now
            let log = state.refusalLogged[refusal].map { now - $0 >= .seconds(60) } ?? true
            if log { state.refusalLogged[refusal] = now }
            return (refusal, log, state.table.count)
        }
        guard let refusal else { return true }
        if log {
            switch refusal {
            case .limit:
                logger.warning("connection limit reached; new connections are refused (logged at most once a minute)",
                               ["open": "\(open)", "limit": "\(configuration.maxConnections)"])
            case .perAddress:
                logger.warning("per-address connection limit reached; that address's new connections are refused (logged at most once a minute)",
                               ["address": "\(address)", "limit": "\(configuration.maxConnectionsPerAddress)"])
            }
        }
        return false
    }

    fileprivate func opened(_ address: ClientAddress, socket: Int32) -> Int {
        state.withLock { state in
            let id = state.table.opened(address, now: .now)
            state.sockets[id] = socket
            return id
        }
    }

    fileprivate func closed(_ id: Int) {
        state.withLock { state in
            state.table.closed(id)
            state.sockets[id] = nil
        }
    }

    fileprivate func responseSent(_ id: Int) {
        state.withLock { $0.table.responseSent(id, now: .now) }
    }

    /// Runs a complete request: inline when the handler says it never blocks, else on a worker
    /// with the connection suspended. Called on the loop thread from the access handler.
    fileprivate func dispatch(_ request: HTTPRequest, _ requestState: RequestState, on connection: OpaquePointer) -> MHD_Result {
        if let id = requestState.connectionID { state.withLock { $0.table.requestComplete(id) } }
        if handler.runsInline(request) {
            let response = handler.handle(request)
            if response.deferred == nil { return queue(response, on: connection, server: self) }
            suspend(requestState, connection)
            answer(response, for: requestState)
            return .YES
        }
        suspend(requestState, connection)
        pool.withLock { $0 }?.submit { [self, handler] in
            answer(handler.handle(request), for: requestState)
        }
        return .YES
    }

    private func suspend(_ requestState: RequestState, _ connection: OpaquePointer) {
        requestState.connection = connection
        MHD_suspend_connection(connection)
        state.withLock { $0.suspended[ObjectIdentifier(requestState)] = requestState }
    }

    /// Resumes the connection with `response`, or, for a deferred one, once it is resolved.
    private func answer(_ response: HTTPResponse, for requestState: RequestState) {
        guard let deferred = response.deferred else { return resume(requestState, with: response) }
        state.withLock { $0.deferred += 1 }
        deferred.whenResolved { [self] resolved in
            state.withLock { $0.deferred -= 1 }
            resume(requestState, with: resolved.deferred == nil ? resolved
                : .problem(500, title: "Internal Server Error", detail: "a deferred response resolved to another deferred response"))
        }
    }

    /// Any thread. libmicrohttpd calls the access handler again for the resumed connection, which
    /// queues `requestState.response`.
    private func resume(_ requestState: RequestState, with response: HTTPResponse) {
        state.withLock { state in
            guard !state.resumeClosed, state.suspended.removeValue(forKey: ObjectIdentifier(requestState)) != nil,
                  let connection = requestState.connection else { return }
            requestState.response = response
            MHD_resume_connection(connection)
        }
        resumed.wake()
    }

    fileprivate func log(_ message: String) {
        logger.error(message)
    }
}

/// A `struct MHD_Daemon *`. Safe to send: the loop thread runs it, `stop` takes it over only
/// after the loop thread ended, and the calls made from other threads (resume) are thread-safe.
private struct DaemonPointer: @unchecked Sendable {
    let raw: OpaquePointer
}

/// Error starting the HTTP server; the message names the address.
public struct HTTPServerError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Per-request state between libmicrohttpd's calls: the headers, the body read so far, and the
/// response once a worker made it. Owned by the connection's `con_cls` slot from the first call
/// (retained) until the completion callback releases it; a worker running its request holds a
/// reference too. Fields are written on the loop thread, except `response`, which a worker sets
/// under the server's lock before resuming the connection (the resume orders it before the
/// loop thread's next read).
private final class RequestState: @unchecked Sendable {
    /// The target's query as sent (after `?`, escapes undecoded); nil without `?`.
    var rawQuery: [UInt8]?
    var query: [(name: String, value: String)] = []
    /// The access handler had its first call (the headers are in).
    var headersSeen = false
    var headers: [(String, String)] = []
    /// `RequestHeadCheck`'s answer, sent once the (empty) body is read.
    var refusal: HTTPResponse?
    var body: [UInt8] = []
    var tooLarge = false
    /// Counted in `inFlight` (false before the first call, and for a request refused once `stop`
    /// closed the server).
    var counted = false
    var connectionID: Int?
    var connection: OpaquePointer?
    var response: HTTPResponse?
}

/// Per-connection state in libmicrohttpd's socket context: the connection's id in the server's
/// `ConnectionTable`. Retained from MHD_CONNECTION_NOTIFY_STARTED until MHD_CONNECTION_NOTIFY_CLOSED.
private final class ConnectionContext {
    let id: Int
    init(id: Int) { self.id = id }
}

private func connectionID(_ connection: OpaquePointer) -> Int? {
    outboxd_mhd_socket_context(connection).map { Unmanaged<ConnectionContext>.fromOpaque($0).takeUnretainedValue().id }
}

/// Accept policy (loop thread): the total and per-address limits.
private func mhdAcceptPolicy(_ cls: UnsafeMutableRawPointer?, _ address: UnsafePointer<sockaddr>?, _ length: socklen_t) -> MHD_Result {
    guard let cls else { return .YES }
    let server = Unmanaged<MHDServer>.fromOpaque(cls).takeUnretainedValue()
    let client = address.flatMap(ClientAddress.init) ?? ClientAddress(bytes: [])
    return server.admit(client) ? .YES : .NO
}

/// Connection opened or closed (loop thread): the table's bookkeeping.
private func mhdConnectionNotify(_ cls: UnsafeMutableRawPointer?, _ connection: OpaquePointer?,
                                 _ socketContext: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                                 _ code: MHD_ConnectionNotificationCode) {
    guard let cls, let connection, let socketContext else { return }
    let server = Unmanaged<MHDServer>.fromOpaque(cls).takeUnretainedValue()
    switch code {
    case MHD_ConnectionNotificationCode(rawValue: 0): // MHD_CONNECTION_NOTIFY_STARTED (not imported by name)
        let address = outboxd_mhd_client_address(connection).flatMap(ClientAddress.init) ?? ClientAddress(bytes: [])
        let id = server.opened(address, socket: outboxd_mhd_connection_fd(connection))
        socketContext.pointee = Unmanaged.passRetained(ConnectionContext(id: id)).toOpaque()
    default:
        guard let pointer = socketContext.pointee else { return }
        let context = Unmanaged<ConnectionContext>.fromOpaque(pointer)
        server.closed(context.takeUnretainedValue().id)
        context.release()
        socketContext.pointee = nil
    }
}

/// The request line is in (loop thread, before libmicrohttpd splits the query): makes the
/// request's state, which libmicrohttpd keeps as the access handler's `con_cls`, and takes the
/// query over. libmicrohttpd 0.9.75 stores each query argument in the connection's memory pool
/// and, when the pool runs out, queues a 431 but goes on reading with no buffer left, so a
/// target with a few hundred arguments got no answer at all. `uri` is the request line in
/// libmicrohttpd's own read buffer, which it cuts at `?` right after this call and then splits
/// from the byte after `?`: ending the string there leaves it no argument to store. (Writing
/// into `uri` relies on that order, which 1.0 keeps.)
private func mhdURIReceived(_ cls: UnsafeMutableRawPointer?, _ uri: UnsafePointer<CChar>?, _ connection: OpaquePointer?) -> UnsafeMutableRawPointer? {
    let state = RequestState()
    if let uri, let mark = strchr(uri, Int32(UInt8(ascii: "?"))) {
        let query = UnsafeRawPointer(mark + 1).assumingMemoryBound(to: UInt8.self)
        state.rawQuery = Array(UnsafeBufferPointer(start: query, count: strlen(mark + 1)))
        UnsafeMutablePointer(mutating: mark + 1).pointee = 0
    }
    return Unmanaged.passRetained(state).toOpaque()
}

/// The query's parameters as libmicrohttpd would have split them: at `&` (a trailing empty
/// piece is none), name and value at the first `=` (a name alone has the value ""), `+` as a
/// space, then percent-escapes decoded by the shim. Nil when there are more than `limit`.
private func queryParameters(_ raw: [UInt8], limit: Int) -> (count: Int, parameters: [(name: String, value: String)]?) {
    var pieces = raw.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: false)
    if pieces.last?.isEmpty == true { pieces.removeLast() }
    guard pieces.count <= limit else { return (pieces.count, nil) }
    func decoded(_ bytes: ArraySlice<UInt8>) -> String {
        var text = bytes.map { $0 == UInt8(ascii: "+") ? UInt8(ascii: " ") : $0 } + [0]
        let length = text.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { outboxd_mhd_unescape(nil, nil, $0) }
        }
        return String(decoding: text[..<length], as: UTF8.self)
    }
    return (pieces.count, pieces.map { piece in
        guard let equals = piece.firstIndex(of: UInt8(ascii: "=")) else { return (decoded(piece), "") }
        return (decoded(piece[..<equals]), decoded(piece[(equals + 1)...]))
    })
}

/// Reads the request headers through the iterator below.
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

    if conCls.pointee == nil {
        // mhdURIReceived makes it; libmicrohttpd calls that for every request it hands over.
        conCls.pointee = Unmanaged.passRetained(RequestState()).toOpaque()
    }
    let state = Unmanaged<RequestState>.fromOpaque(conCls.pointee!).takeUnretainedValue()
    if !state.headersSeen {
        // First call: headers only.
        state.headersSeen = true
        state.connectionID = connectionID(connection)
        guard server.begin() else {
            // A request that reached a kept-alive connection after stop's wait for requests in
            // flight: the connection is about to close, so it must change nothing.
            return queue(.problem(503, title: "Service Unavailable", detail: "the server is shutting down", headers: [("Connection", "close")]),
                         on: connection, server: server)
        }
        state.counted = true
        state.headers = mhdValues(connection, .HEADER_KIND)
        let (count, parameters) = queryParameters(state.rawQuery ?? [], limit: RequestHeadCheck.maxQueryParameters)
        state.query = parameters ?? []
        let expectsContinue = state.headers.contains { $0.0.lowercased() == "expect" }
        if let refused = RequestHeadCheck.refusal(version: version.map { String(cString: $0) } ?? "", headers: state.headers, queryParameters: count) {
            // libmicrohttpd closes the connection after any response to the first call; one that
            // need not close is sent from the final call, which comes at once without a body, unless
            // the request expects 100 (see below).
            if refused.header("Connection") == nil && !expectsContinue {
                state.refusal = refused
                return .YES
            }
            return queue(refused.header("Connection") == nil ? refused.adding(header: "Connection", "close") : refused, on: connection, server: server)
        }
        if let declared = MHD_lookup_connection_value(connection, .HEADER_KIND, "Content-Length"),
           let length = Int(String(cString: declared)), length > limit {
            return queue(tooLarge(limit), on: connection, server: server)
        }
        // libmicrohttpd answers `Expect: 100-continue` with 100 before the next call; on a request
        // without a body (which must not carry it) followed by pipelined bytes, it then ran the
        // handler but closed the connection without sending its response. Such a request is
        // complete now, so it is run now (no 100; libmicrohttpd closes the connection after a
        // response to the first call, so every other request is answered from the final call).
        if expectsContinue, !RequestHeadCheck.declaresBody(state.headers) {
            return server.dispatch(request(url, method, state), state, on: connection)
        }
        return .YES
    }
    if let response = state.response {
        // Resumed: the worker's (or the deferred) response.
        state.response = nil
        return queue(response, on: connection, server: server)
    }
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
    if let refused = state.refusal {
        return queue(refused, on: connection, server: server)
    }
    if state.tooLarge {
        return queue(tooLarge(limit), on: connection, server: server)
    }
    return server.dispatch(request(url, method, state), state, on: connection)
}

/// The complete request; hands the body over from `state`.
private func request(_ url: UnsafePointer<CChar>?, _ method: UnsafePointer<CChar>?, _ state: RequestState) -> HTTPRequest {
    defer { state.body = [] }
    return HTTPRequest(
        method: method.map { String(cString: $0) } ?? "GET",
        path: url.map { String(cString: $0) } ?? "/",
        query: state.query,
        headers: HTTPHeaders(state.headers),
        body: state.body)
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
    if let connection, let id = connectionID(connection) {
        Unmanaged<MHDServer>.fromOpaque(cls).takeUnretainedValue().responseSent(id)
    }
    let state = Unmanaged<RequestState>.fromOpaque(pointer)
    let counted = state.takeUnretainedValue().counted
    state.release()
    conCls.pointee = nil
    if counted { Unmanaged<MHDServer>.fromOpaque(cls).takeUnretainedValue().end() }
}
