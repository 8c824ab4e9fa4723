import OutboxdCore

/// The checks of a request's head that libmicrohttpd does not make, run before its body is read.
/// Each refusal is a problem naming what is wrong. A refusal after which the body cannot be framed
/// closes the connection (RFC 9112 §6.1, §6.3), and so does any refusal of a request that declares
/// a body, since that body is left unread: those say `Connection: close`; the others keep it.
enum RequestHeadCheck {
    /// Headers a request carries at most once; sent twice, the first would win silently (a body
    /// labelled `application/json` and then `text/plain` was taken as JSON).
    static let singletonHeaders = ["content-type", "authorization", "idempotency-key", "if-match", "host"]

    /// Most query parameters a request may have (each name, or `name=value`, between `&`).
    static let maxQueryParameters = 100

    /// The answer to a request whose head fails a check, or nil. `version` is the request line's
    /// (`HTTP/1.1`); `queryParameters` how many the target's query has.
    static func refusal(version: String, headers: [(String, String)], queryParameters: Int) -> HTTPResponse? {
        if let refused = ambiguousFraming(headers) ?? repeatedSingleton(headers) ?? transferCoding(version, headers) {
            return refused
        }
        guard let refused = host(version, headers) ?? tooManyParameters(queryParameters) else { return nil }
        return declaresBody(headers) ? refused.adding(header: "Connection", "close") : refused
    }

    /// Whether the headers announce a body (RFC 9112 §6.3: without them a request has none).
    static func declaresBody(_ headers: [(String, String)]) -> Bool {
        headers.contains { name, value in
            let name = name.lowercased()
            return name == "transfer-encoding" || (name == "content-length" && value != "0")
        }
    }

    /// 400 for a request whose body length is ambiguous: differing `Content-Length` values, or
    /// `Content-Length` with `Transfer-Encoding` (RFC 9112 §6.3). libmicrohttpd would pick one
    /// reading and go on, which is how requests are smuggled past a proxy that picks the other.
    static func ambiguousFraming(_ headers: [(String, String)]) -> HTTPResponse? {
        let lengths = Set(headers.filter { $0.0.lowercased() == "content-length" }.map(\.1))
        let hasTransferEncoding = headers.contains { $0.0.lowercased() == "transfer-encoding" }
        guard lengths.count > 1 || (hasTransferEncoding && !lengths.isEmpty) else { return nil }
        let detail = lengths.count > 1 ? "conflicting Content-Length headers" : "Content-Length and Transfer-Encoding must not be sent together"
        return closing(400, "Bad Request", detail)
    }

    /// 400 for a request that repeats one of `singletonHeaders`, naming it.
    static func repeatedSingleton(_ headers: [(String, String)]) -> HTTPResponse? {
        let names = headers.map { $0.0.lowercased() }
        guard let repeated = singletonHeaders.first(where: { name in names.count { $0 == name } > 1 }),
              let spelled = headers.first(where: { $0.0.lowercased() == repeated })?.0 else { return nil }
        return closing(400, "Bad Request", "the \(spelled.prefix(64)) header appears more than once; send it once")
    }

    /// RFC 9112 §6.1 and §6.3: `chunked` must be the final transfer coding and come once (else 400),
    /// codings before it are not implemented here (501), and an HTTP/1.0 request must not carry
    /// `Transfer-Encoding` at all (400). libmicrohttpd reads a body as chunked only when the one
    /// `Transfer-Encoding` line is exactly `chunked` (any case); on any other spelling of that one
    /// coding (`chunked,`, trailing whitespace, two lines) it waits for the client to close, so
    /// those get 501 too. Every refusal closes the connection: the body cannot be framed.
    static func transferCoding(_ version: String, _ headers: [(String, String)]) -> HTTPResponse? {
        let lines = headers.filter { $0.0.lowercased() == "transfer-encoding" }.map(\.1)
        guard !lines.isEmpty else { return nil }
        if version == "HTTP/1.0" {
            return closing(400, "Bad Request", "Transfer-Encoding is not allowed in an HTTP/1.0 request; send Content-Length")
        }
        let codings = lines.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
            .map { $0.trimmingOWS().lowercased() }.filter { !$0.isEmpty }
        guard let last = codings.last else { return closing(400, "Bad Request", "Transfer-Encoding names no transfer coding") }
        guard last == "chunked" else {
            return closing(400, "Bad Request", "chunked must be the final transfer coding, not \(last.prefix(64)); the body cannot be framed")
        }
        let others = codings.dropLast()
        if others.contains("chunked") {
            return closing(400, "Bad Request", "Transfer-Encoding names chunked more than once")
        }
        if !others.isEmpty {
            return closing(501, "Not Implemented", "the transfer coding \(others.joined(separator: ", ").prefix(64)) is not supported; send the body chunked alone or with Content-Length")
        }
        if lines.count > 1 || lines[0].lowercased() != "chunked" {
            return closing(501, "Not Implemented", "Transfer-Encoding must be exactly chunked, on one line without other list elements or spaces")
        }
        return nil
    }

    /// RFC 9112 §3.2: 400 for an HTTP/1.1 request without `Host`, or any request whose `Host` is
    /// not `host[:port]` (reg-name, IPv4 or bracketed IP literal; an empty value is valid). Two
    /// `Host` headers are `repeatedSingleton`'s.
    static func host(_ version: String, _ headers: [(String, String)]) -> HTTPResponse? {
        guard let value = headers.first(where: { $0.0.lowercased() == "host" })?.1 else {
            return version == "HTTP/1.0" ? nil : .problem(400, title: "Bad Request", detail: "an HTTP/1.1 request must carry a Host header")
        }
        return isValidHost(value.trimmingOWS()) ? nil
            : .problem(400, title: "Bad Request", detail: "the Host header is not host[:port] (a name, an IPv4 address or a bracketed IPv6 address, then optionally : and digits)")
    }

    /// `uri-host [ ":" port ]` of RFC 3986; the IP literal's inside is only checked for its characters.
    static func isValidHost(_ value: String) -> Bool {
        var rest = Substring(value)
        if rest.first == "[" {
            guard let close = rest.firstIndex(of: "]") else { return false }
            let literal = rest[rest.index(after: rest.startIndex)..<close]
            guard !literal.isEmpty, literal.utf8.allSatisfy({ isRegNameByte($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "%") }) else { return false }
            rest = rest[rest.index(after: close)...]
        } else {
            let end = rest.firstIndex(of: ":") ?? rest.endIndex
            guard isRegName(rest[..<end]) else { return false }
            rest = rest[end...]
        }
        guard let colon = rest.first else { return true }
        return colon == ":" && rest.dropFirst().utf8.allSatisfy { (0x30...0x39).contains($0) }
    }

    /// RFC 3986 reg-name: unreserved, sub-delims and %XX escapes.
    private static func isRegName(_ name: Substring) -> Bool {
        var bytes = name.utf8[...]
        while let byte = bytes.popFirst() {
            if byte == UInt8(ascii: "%") {
                guard bytes.count >= 2, bytes.prefix(2).allSatisfy(isHexDigit) else { return false }
                bytes = bytes.dropFirst(2)
            } else if !isRegNameByte(byte) {
                return false
            }
        }
        return true
    }

    private static func isRegNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: "-._~!$&'()*+,;=".utf8.contains(byte)
        }
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x46).contains(byte) || (0x61...0x66).contains(byte)
    }

    /// 414 for a query of more than `maxQueryParameters` parameters, naming the limit.
    static func tooManyParameters(_ count: Int) -> HTTPResponse? {
        guard count > maxQueryParameters else { return nil }
        return .problem(414, title: "URI Too Long", detail: "the query has \(count) parameters; at most \(maxQueryParameters) are accepted")
    }

    private static func closing(_ status: Int, _ title: String, _ detail: String) -> HTTPResponse {
        .problem(status, title: title, detail: detail, headers: [("Connection", "close")])
    }
}
