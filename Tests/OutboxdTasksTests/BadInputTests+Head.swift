import Foundation
import OutboxdTestSupport
import Testing

/// G7 for the request head (issue #28), against the Task API: requests without `Host`, with a
/// transfer coding other than `chunked` alone, or with hundreds of query parameters each get a
/// problem (documented in docs/openapi.json: every exchange is checked against it) and write
/// nothing; before, the last two got no answer at all.
extension BadInputTests {
    /// Sends `raw` on a new connection and reads one answer, recorded for the OpenAPI check as
    /// `method path`; returns it and whether the server then closed the connection.
    static func raw(_ api: APIFixture, _ method: String, _ path: String, _ raw: String) throws -> (response: HTTPTestResponse, closed: Bool) {
        let client = try Self.client(api)
        try client.send(Array(raw.utf8))
        let response = try client.readResponse(method: method)
        api.recorder.record(RecordedExchange(method: method, path: path, status: response.status, headers: response.headers, body: response.body))
        return (response, client.isClosedByServer())
    }

    static func detail(_ response: HTTPTestResponse) -> String {
        (try? response.json())?.objectValue?["detail"]?.stringValue ?? ""
    }

    @Test(arguments: [
        ("gzip, chunked", 501, "gzip"),
        ("chunked, gzip", 400, "final transfer coding"),
        ("gzip", 400, "final transfer coding"),
        ("identity", 400, "final transfer coding"),
        ("x-unknown", 400, "final transfer coding"),
        ("chunked ", 501, "exactly chunked"),
    ] as [(String, Int, String)])
    func aTransferCodingOtherThanChunkedIsAnsweredClosedAndWritesNothing(coding: String, status: Int, mentions: String) throws {
        let api = try Self.unwritten.get()
        let body = "d\r\n{\"title\":\"a\"}\r\n0\r\n\r\n"
        let (response, closed) = try Self.raw(api, "POST", "/tasks",
                                              "POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: \(coding)\r\n\r\n" + body)
        #expect(response.status == status)
        #expect(response.header("Content-Type") == "application/problem+json")
        #expect(Self.detail(response).contains(mentions), "\(response.text)")
        #expect(closed)
        #expect(try api.counts() == (0, 0))
    }

    @Test func aDeleteWithAnUnsupportedTransferCodingIs501AndDeletesNothing() throws {
        let api = try APIFixture(parts: [.api])
        let id = try #require(try api.client().json("POST", "/tasks", #"{"title":"kept"}"#).string("id"))
        let (response, closed) = try Self.raw(api, "DELETE", "/tasks/\(id)",
                                              "DELETE /tasks/\(id) HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n")
        #expect(response.status == 501)
        #expect(closed)
        #expect(try api.counts() == (1, 1))
    }

    @Test func aRequestWithoutHostIs400AndWritesNothing() throws {
        let api = try Self.unwritten.get()
        let (post, closed) = try Self.raw(api, "POST", "/tasks", "POST /tasks HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"title\":\"a\"}")
        #expect(post.status == 400)
        #expect(Self.detail(post) == "an HTTP/1.1 request must carry a Host header")
        #expect(closed, "the body is left unread")
        let (list, _) = try Self.raw(api, "GET", "/tasks", "GET /tasks HTTP/1.1\r\n\r\n")
        #expect(list.status == 400)
        let (invalid, _) = try Self.raw(api, "GET", "/tasks", "GET /tasks HTTP/1.1\r\nHost: a b\r\n\r\n")
        #expect(invalid.status == 400)
        #expect(Self.detail(invalid).contains("Host header is not host[:port]"))
        let (http10, _) = try Self.raw(api, "GET", "/tasks", "GET /tasks HTTP/1.0\r\n\r\n")
        #expect(http10.status == 200, "HTTP/1.0 may omit Host")
        #expect(try api.counts() == (0, 0))
    }

    @Test(arguments: [250, 1000])
    func hundredsOfQueryParametersGet414NamingTheLimit(count: Int) throws {
        let api = try Self.unwritten.get()
        let client = try api.client()
        let query = (0..<count).map { _ in "status=todo" }.joined(separator: "&")
        let list = try client.request("GET", "/tasks?" + query)
        #expect(list.status == 414)
        #expect(list.header("Content-Type") == "application/problem+json")
        #expect(Self.detail(list) == "the query has \(count) parameters; at most 100 are accepted")
        #expect(try client.request("GET", "/tasks?" + (0..<100).map { _ in "status=todo" }.joined(separator: "&")).status == 200,
                "the connection serves on, and 100 parameters are read")
        let create = try client.json("POST", "/tasks?" + query, #"{"title":"a"}"#)
        #expect(create.status == 414)
        #expect(try api.counts() == (0, 0))
    }
}
