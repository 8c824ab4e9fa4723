import Foundation
import Glibc
import OutboxdCore

/// Sends each notification as `POST <url>` with a JSON body
/// (`{"id", "task_id", "recipient", "message"}`); any 2xx answer is success, anything else (or no
/// answer within `timeout`) throws and the `NotificationSender` retries later. Plain `http://`
/// only: put a local forwarder in front of an `https://` endpoint.
public struct WebhookNotificationSink: NotificationSink {
    public let host: String
    public let port: UInt16
    public let path: String
    public let timeout: Duration

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Parses `http://host[:port]/path`; throws naming what is wrong.
    public init(url: String, timeout: Duration = .seconds(5)) throws(Failure) {
        guard url.hasPrefix("http://") else { throw Failure(description: "must start with http:// (https is not supported; use a local forwarder)") }
        let rest = url.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        path = rest.count > authority.count ? String(rest.dropFirst(authority.count)) : "/"
        let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
        guard let hostPart = parts.first, !hostPart.isEmpty, parts.count <= 2 else { throw Failure(description: "has no host") }
        host = String(hostPart)
        if parts.count == 2 {
            guard let number = UInt16(parts[1]), number > 0 else { throw Failure(description: "has an invalid port") }
            port = number
        } else {
            port = 80
        }
        guard path.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else { throw Failure(description: "has spaces or non-ASCII characters in its path") }
        self.timeout = timeout
    }

    public func send(_ notification: Notification) throws {
        let body = JSONWriter.bytes(.object(JSONObject([
            "id": .int(Int(notification.id)), "task_id": .string(notification.taskID),
            "recipient": .string(notification.recipient), "message": .string(notification.message),
        ])))
        let head = "POST \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        let status = try exchange(Array(head.utf8) + body)
        guard (200...299).contains(status) else { throw Failure(description: "webhook answered \(status)") }
    }

    /// Connects, writes `request`, and returns the status code of the answer.
    private func exchange(_ request: [UInt8]) throws -> Int {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let address = list else {
            throw Failure(description: "cannot resolve \(host)")
        }
        defer { freeaddrinfo(list) }
        let fd = socket(address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var limit = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 else {
            throw Failure(description: "cannot connect to \(host):\(port): \(String(cString: strerror(errno)))")
        }
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Failure(description: "write to \(host):\(port) failed") }
            sent += n
        }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        while !answer.contains(UInt8(ascii: "\n")) && answer.count < 8192 {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            answer += buffer[0..<n]
        }
        let line = String(decoding: answer.prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        let fields = line.split(separator: " ")
        guard fields.count >= 2, fields[0].hasPrefix("HTTP/1."), let status = Int(fields[1]) else {
            throw Failure(description: "no HTTP answer from \(host):\(port) within \(timeout)")
        }
        return status
    }
}
