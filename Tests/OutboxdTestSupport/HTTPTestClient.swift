import Foundation
import Glibc
import OutboxdCore

/// A response read off the wire.
public struct HTTPTestResponse: Sendable {
    public let status: Int
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The body parsed as JSON; throws when it is not.
    public func json() throws -> JSONValue { try JSONParser.parse(body) }
}

public struct HTTPTestError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A minimal HTTP/1.1 client over one keep-alive TCP connection, able to send raw bytes, so tests
/// can speak both correct and broken HTTP to the server.
public final class HTTPTestClient {
    private var fd: Int32 = -1
    private var buffer: [UInt8] = []
    public let port: Int
    /// When set, every `request` (and `json`) and its response are recorded in it.
    public var recorder: HTTPExchangeRecorder?

    /// `from`: the loopback address to connect from (see `LoopbackSocket.connect`).
    public init(port: Int, timeoutSeconds: Int = 30, from source: String? = nil) throws {
        self.port = port
        fd = try LoopbackSocket.connect(port: port, timeout: .seconds(timeoutSeconds), from: source)
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Sends one request and reads its response.
    public func request(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil) throws -> HTTPTestResponse {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        try send(Array(head.utf8) + (body ?? []))
        let response = try readResponse(method: method)
        recorder?.record(RecordedExchange(method: method, path: path, status: response.status, headers: response.headers, body: response.body))
        return response
    }

    /// `POST`/`PATCH` with a JSON body and `Content-Type: application/json`.
    public func json(_ method: String, _ path: String, _ body: String, headers: [(String, String)] = []) throws -> HTTPTestResponse {
        try request(method, path, headers: [("Content-Type", "application/json")] + headers, body: Array(body.utf8))
    }

    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw HTTPTestError("send failed: errno \(errno)") }
            offset += sent
        }
    }

    /// Reads one response; for `HEAD` no body is expected.
    public func readResponse(method: String = "GET") throws -> HTTPTestResponse {
        let headEnd = try readUntilHeaderEnd()
        let head = String(decoding: buffer[..<headEnd], as: UTF8.self)
        buffer.removeFirst(headEnd + 4)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw HTTPTestError("bad status line") }
        let headers = lines.compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        let length = headers.first { $0.name.lowercased() == "content-length" }.flatMap { Int($0.value) } ?? 0
        let bodyLength = (method == "HEAD" || status == 204 || status == 304) ? 0 : length
        while buffer.count < bodyLength { try fill() }
        let body = Array(buffer[..<bodyLength])
        buffer.removeFirst(bodyLength)
        return HTTPTestResponse(status: status, headers: headers, body: body)
    }

    /// True when the server closed the connection (reads EOF within the timeout).
    public func isClosedByServer() -> Bool {
        do {
            while true { try fill() }
        } catch {
            return (error as? HTTPTestError)?.description == "connection closed"
        }
    }

    private func readUntilHeaderEnd() throws -> Int {
        while true {
            if buffer.count >= 4 {
                for index in 0...(buffer.count - 4) where buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13 && buffer[index + 3] == 10 {
                    return index
                }
            }
            try fill()
        }
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count == 0 { throw HTTPTestError("connection closed") }
        if count < 0 { throw HTTPTestError("recv failed: errno \(errno)") }
        buffer.append(contentsOf: chunk[..<count])
    }
}
