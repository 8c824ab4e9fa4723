import Foundation
import Glibc
import OutboxdCore
import OutboxdTestSupport

/// One connection that sends its bytes at once and reads what the server sends until the reader
/// has what it expects, or the server closes. Half-closing after sending makes an exchange end
/// quickly whatever the server makes of the bytes (libmicrohttpd closes on end of input).
struct RawExchange {
    enum Ending: Equatable {
        case complete, closed, reset, timedOut
    }

    /// A response as read off the wire.
    struct Response {
        let status: Int
        let headers: [(name: String, value: String)]
        let body: [UInt8]

        func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }

        var closesConnection: Bool { header("Connection")?.lowercased() == "close" }
    }

    let received: [UInt8]
    let ending: Ending

    static func run(port: Int, sending bytes: [UInt8], halfClose: Bool, timeout: Duration = .seconds(10),
                    isComplete: (RawExchange) -> Bool) throws -> RawExchange {
        let fd = try LoopbackSocket.connect(port: port, timeout: timeout)
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { break } // the server closed early (e.g. 413); read what it said
            offset += sent
        }
        if halfClose { shutdown(fd, Int32(SHUT_WR)) }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                received += chunk[..<count]
                if isComplete(RawExchange(received: received, ending: .complete)) { return RawExchange(received: received, ending: .complete) }
            } else if count == 0 {
                return RawExchange(received: received, ending: .closed)
            } else {
                return RawExchange(received: received, ending: errno == EAGAIN ? .timedOut : .reset)
            }
        }
    }

    /// The responses in order, without interim 1xx ones; parsing stops after a response that
    /// closes the connection, or at bytes that are no response. `methods[i]` is the method of the
    /// i-th request when known (a response to HEAD has no body).
    func responses(methods: [String?]) -> [Response] {
        var responses: [Response] = []
        var rest = received[...]
        while let headEnd = rest.firstRange(of: [13, 10, 13, 10]) {
            let lines = String(decoding: rest[..<headEnd.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
            let statusLine = lines[0].split(separator: " ")
            guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else { break }
            let headers = lines.dropFirst().compactMap { line -> (name: String, value: String)? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            }
            rest = rest[headEnd.upperBound...]
            if (100...199).contains(status) { continue }
            let method = responses.count < methods.count ? methods[responses.count] : nil
            let declared = headers.first { $0.name.lowercased() == "content-length" }.flatMap { Int($0.value) } ?? 0
            let length = method == "HEAD" || status == 204 || status == 304 ? 0 : min(declared, rest.count)
            let response = Response(status: status, headers: headers, body: Array(rest.prefix(length)))
            rest = rest.dropFirst(length)
            responses.append(response)
            if response.closesConnection { break }
        }
        return responses
    }
}
