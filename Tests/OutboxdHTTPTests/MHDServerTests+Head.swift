import Foundation
import OutboxdCore
import OutboxdTestSupport
import Testing
@testable import OutboxdHTTP

/// The request head on the wire (issue #28): the query split by the server itself, the Host and
/// Transfer-Encoding rules of RFC 9112, and libmicrohttpd's own limits. Every case gets an answer,
/// none reaches the handler, and a connection is closed only when its framing is lost.
extension MHDServerTests {
    /// Sends `raw` on a new connection and reads one response; returns it and whether the server
    /// then closed the connection.
    func exchange(_ server: MHDServer, _ raw: String) throws -> (response: HTTPTestResponse, closed: Bool) {
        let (response, client) = try exchangeKeepingTheClient(server, raw)
        return (response, client.isClosedByServer())
    }

    /// Sends `raw` on a new connection and reads one response; the connection stays open.
    func exchangeKeepingTheClient(_ server: MHDServer, _ raw: String) throws -> (response: HTTPTestResponse, client: HTTPTestClient) {
        let client = try HTTPTestClient(port: server.port, timeoutSeconds: 10)
        try client.send(Array(raw.utf8))
        return (try client.readResponse(), client)
    }

    func detail(_ response: HTTPTestResponse) -> String {
        (try? response.json())?.objectValue?["detail"]?.stringValue ?? ""
    }

    @Test func theQueryIsSplitAsLibmicrohttpdSplitIt() throws {
        let server = try server(EchoHandler())
        defer { server.stop(timeout: .seconds(5)) }
        let response = try HTTPTestClient(port: server.port).request("GET", "/q?a=1&b=x%20y&c+d=e+f&%26=%3D&g&&h=&=i&j=%00&")
        #expect(response.status == 200)
        #expect(try response.json().objectValue?["path"] == "/q")
        #expect(try response.json().objectValue?["query"] == ["a=1", "b=x y", "c d=e f", "&==", "g=", "=", "h=", "=i", "j=%00"])
        let none = try HTTPTestClient(port: server.port).request("GET", "/q?")
        #expect(try none.json().objectValue?["query"] == [])
    }

    /// libmicrohttpd 0.9.75 stored every query argument in the connection's memory pool and, once
    /// it ran out (a few hundred arguments), left the request unanswered.
    @Test(arguments: [101, 250, 400, 5000])
    func moreQueryParametersThanTheLimitGet414AndTheConnectionServesOn(count: Int) throws {
        let handler = EchoHandler()
        let server = try server(handler)
        defer { server.stop(timeout: .seconds(5)) }
        let client = try HTTPTestClient(port: server.port, timeoutSeconds: 10)
        let query = (0..<count).map { count > 1000 ? "a" : "p\($0)=\($0)" }.joined(separator: "&")
        let refused = try client.request("GET", "/q?" + query)
        #expect(refused.status == 414)
        #expect(refused.header("Content-Type") == "application/problem+json")
        #expect(detail(refused) == "the query has \(count) parameters; at most \(RequestHeadCheck.maxQueryParameters) are accepted")
        #expect(refused.header("Connection") == nil)
        #expect(handler.handled.load(ordering: .relaxed) == 0)
        let atLimit = try client.request("GET", "/q?" + (0..<RequestHeadCheck.maxQueryParameters).map { "p\($0)=\($0)" }.joined(separator: "&"))
        #expect(atLimit.status == 200)
        #expect(try atLimit.json().objectValue?["query"]?.arrayValue?.count == RequestHeadCheck.maxQueryParameters)
    }

    @Test func tooManyQueryParametersWithABodyClosesTheConnection() throws {
        let handler = EchoHandler()
        let server = try server(handler)
        defer { server.stop(timeout: .seconds(5)) }
        let query = (0..<250).map { "p\($0)" }.joined(separator: "&")
        let (response, closed) = try exchange(server, "POST /q?\(query) HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        #expect(response.status == 414)
        #expect(response.header("Connection")?.lowercased() == "close")
        #expect(closed)
        #expect(handler.handled.load(ordering: .relaxed) == 0)
    }

    /// Near neighbours refused by libmicrohttpd itself (its HTML page): answered, then closed.
    /// (Not covered, since nothing of ours runs: hundreds of cookies followed by 80-200 bytes of
    /// body are closed unanswered by libmicrohttpd 0.9.75; see `HTTPRequestGenerator.Request.manyCookies`.)
    @Test(arguments: [
        ("many headers", "GET /q HTTP/1.1\r\nHost: x\r\n" + (0..<250).map { "X-H\($0): 1\r\n" }.joined() + "\r\n", 431),
        ("many cookies", "GET /q HTTP/1.1\r\nHost: x\r\nCookie: " + (0..<250).map { "c\($0)=1" }.joined(separator: "; ") + "\r\n\r\n", 431),
        ("many cookies and a short body", "POST /q HTTP/1.1\r\nHost: x\r\nCookie: " + (0..<250).map { "c\($0)=1" }.joined(separator: "; ")
            + "\r\nContent-Length: 2\r\n\r\n{}", 431),
        ("a parameter longer than the head buffer", "GET /q?a=" + String(repeating: "x", count: 20_000) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    ] as [(String, String, Int)])
    func libmicrohttpdsOwnLimitsAnswerAndClose(name: String, raw: String, status: Int) throws {
        let handler = EchoHandler()
        let server = try server(handler)
        defer { server.stop(timeout: .seconds(5)) }
        let (response, closed) = try exchange(server, raw)
        #expect(response.status == status, "\(name)")
        #expect(closed, "\(name)")
        #expect(handler.handled.load(ordering: .relaxed) == 0)
        #expect(try HTTPTestClient(port: server.port).request("GET", "/after").status == 200)
    }

    @Test func anHTTP11RequestWithoutHostIs400AndTheConnectionServesOn() throws {
        let handler = EchoHandler()
        let server = try server(handler)
        defer { server.stop(timeout: .seconds(5)) }
        let client = try HTTPTestClient(port: server.port, timeoutSeconds: 10)
        try client.send(Array("GET /q HTTP/1.1\r\n\r\n".utf8))
        let refused = try client.readResponse()
        #expect(refused.status == 400)
        #expect(refused.header("Content-Type") == "application/problem+json")
        #expect(detail(refused) == "an HTTP/1.1 request must carry a Host header")
        #expect(handler.handled.load(ordering: .relaxed) == 0)
        #expect(try client.request("GET", "/after").status == 200)

        let (http10, _) = try exchangeKeepingTheClient(server, "GET /old HTTP/1.0\r\n\r\n")
        #expect(http10.status == 200, "HTTP/1.0 may omit Host")
        let (withBody, closed) = try exchange(server, "POST /q HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
        #expect(withBody.status == 400)
        #expect(closed, "the unread body closes the connection")
        #expect(handler.handled.load(ordering: .relaxed) == 2)
    }

    /// Found by the HTTP fuzz target: a refusal kept for the final call was never sent to a
    /// body-less request expecting 100 with another request pipelined behind it (see
    /// `expectContinueWithoutABodyStillGetsItsAnswer`). It is answered at once, and closes.
    @Test func aRefusedRequestExpecting100WithAnotherBehindItIsAnswered() throws {
        let handler = EchoHandler()
        let server = try server(handler)
        defer { server.stop(timeout: .seconds(5)) }
        let (response, closed) = try exchange(server, "GET /q HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(response.status == 400)
        #expect(response.header("Connection")?.lowercased() == "close")
        #expect(closed)
        #expect(handler.handled.load(ordering: .relaxed) == 0)
    }

    @Test(arguments: ["a b", "x/y", "user@x", "x:8o", "[::1", "é"])
    func anInvalidHostIs400(host: String) throws {
        let handler = EchoHandler()
        let server = try server(handler)
        defer { server.stop(timeout: .seconds(5)) }
        let (response, client) = try exchangeKeepingTheClient(server, "GET /q HTTP/1.1\r\nHost: \(host)\r\n\r\n")
        #expect(response.status == 400)
        #expect(detail(response).hasPrefix("the Host header is not host[:port]"))
        #expect(handler.handled.load(ordering: .relaxed) == 0)
        #expect(try client.request("GET", "/after").status == 200, "the connection serves on")
    }

    /// Each of these got no answer: libmicrohttpd reads a body that is not exactly `chunked` until
    /// the client closes.
    @Test(arguments: [
        ("gzip, chunked", "HTTP/1.1", 501, "transfer coding gzip is not supported"),
        ("chunked, gzip", "HTTP/1.1", 400, "chunked must be the final transfer coding"),
        ("gzip", "HTTP/1.1", 400, "chunked must be the final transfer coding"),
        ("identity", "HTTP/1.1", 400, "chunked must be the final transfer coding"),
        ("chunked, chunked", "HTTP/1.1", 400, "more than once"),
        ("chunked ", "HTTP/1.1", 501, "exactly chunked"),
        ("chunked,", "HTTP/1.1", 501, "exactly chunked"),
        ("chunked", "HTTP/1.0", 400, "HTTP/1.0"),
    ] as [(String, String, Int, String)])
    func transferCodingsOtherThanChunkedAreAnsweredAndClose(coding: String, version: String, status: Int, mentions: String) throws {
        let handler = EchoHandler()
        let server = try server(handler)
        defer { server.stop(timeout: .seconds(5)) }
        let (response, closed) = try exchange(server, "POST /q \(version)\r\nHost: x\r\nTransfer-Encoding: \(coding)\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
        #expect(response.status == status)
        #expect(response.header("Content-Type") == "application/problem+json")
        #expect(detail(response).contains(mentions), "\(detail(response))")
        #expect(response.header("Connection")?.lowercased() == "close")
        #expect(closed)
        #expect(handler.handled.load(ordering: .relaxed) == 0)
    }

    @Test func chunkedInAnyCaseIsRead() throws {
        let server = try server(EchoHandler())
        defer { server.stop(timeout: .seconds(5)) }
        let client = try HTTPTestClient(port: server.port, timeoutSeconds: 10)
        try client.send(Array("POST /q HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n".utf8))
        let response = try client.readResponse()
        #expect(response.status == 200)
        #expect(try response.json().objectValue?["body"] == "{}")
    }
}
