import Foundation
import OutboxdCore
import OutboxdHTTP

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
        let status: Int
        do {
            status = try HTTPExchange.status(host: host, port: Int(port), request: Array(head.utf8) + body, timeout: timeout)
        } catch {
            throw Failure(description: error.description)
        }
        guard (200...299).contains(status) else { throw Failure(description: "webhook answered \(status)") }
    }
}
