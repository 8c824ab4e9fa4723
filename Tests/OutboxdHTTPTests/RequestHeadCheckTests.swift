import OutboxdCore
import Testing
@testable import OutboxdHTTP

/// The head checks libmicrohttpd does not make, by plain calls: each refusal's status, whether it
/// closes the connection, and that its detail names what is wrong.
@Suite struct RequestHeadCheckTests {
    static let host = [("Host", "x")]

    func refusal(_ headers: [(String, String)], version: String = "HTTP/1.1", query: Int = 0) -> HTTPResponse? {
        RequestHeadCheck.refusal(version: version, headers: headers, queryParameters: query)
    }

    func detail(_ response: HTTPResponse?) -> String {
        (try? JSONParser.parse(response?.body ?? []))?.objectValue?["detail"]?.stringValue ?? ""
    }

    @Test(arguments: [
        // RFC 9112 §6.3: chunked not final, or no coding: 400 and close.
        ("chunked, gzip", 400, "final transfer coding, not gzip"),
        ("gzip", 400, "final transfer coding, not gzip"),
        ("identity", 400, "final transfer coding, not identity"),
        ("x-unknown", 400, "not x-unknown"),
        ("chunked;x=1", 400, "not chunked;x=1"),
        ("", 400, "names no transfer coding"),
        (" , ", 400, "names no transfer coding"),
        ("chunked, chunked", 400, "chunked more than once"),
        // RFC 9112 §6.1: a coding before chunked this server does not implement: 501 and close.
        ("gzip, chunked", 501, "transfer coding gzip is not supported"),
        ("GZIP,Chunked", 501, "transfer coding gzip is not supported"),
        ("deflate, gzip, chunked", 501, "deflate, gzip"),
        ("identity, chunked", 501, "transfer coding identity"),
        // chunked alone, spelled so libmicrohttpd would not read it as chunked.
        ("chunked,", 501, "exactly chunked"),
        (", chunked", 501, "exactly chunked"),
        ("chunked ", 501, "exactly chunked"),
        ("chunked\t", 501, "exactly chunked"),
    ] as [(String, Int, String)])
    func transferCodingsOtherThanChunkedAloneAreRefusedAndClose(value: String, status: Int, mentions: String) throws {
        let response = try #require(refusal(Self.host + [("Transfer-Encoding", value)]))
        #expect(response.status == status)
        #expect(response.header("Connection") == "close")
        #expect(response.header("Content-Type") == "application/problem+json")
        #expect(detail(response).contains(mentions), "\(detail(response))")
    }

    @Test func chunkedAloneInAnyCaseIsAccepted() {
        for value in ["chunked", "Chunked", "CHUNKED"] {
            #expect(refusal(Self.host + [("Transfer-Encoding", value)]) == nil, "\(value)")
        }
    }

    @Test func codingsOnSeveralLinesFormOneList() throws {
        let split = try #require(refusal(Self.host + [("Transfer-Encoding", "gzip"), ("transfer-encoding", "chunked")]))
        #expect(split.status == 501)
        let twice = try #require(refusal(Self.host + [("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")]))
        #expect(twice.status == 400)
        #expect(detail(twice).contains("more than once"))
        let empty = try #require(refusal(Self.host + [("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "")]))
        #expect(empty.status == 501)
    }

    @Test func transferEncodingInHTTP10IsRefused() throws {
        let response = try #require(refusal([("Transfer-Encoding", "chunked")], version: "HTTP/1.0"))
        #expect(response.status == 400)
        #expect(response.header("Connection") == "close")
        #expect(detail(response).contains("HTTP/1.0"))
    }

    @Test func http11WithoutHostIs400AndHTTP10MayOmitIt() throws {
        let missing = try #require(refusal([]))
        #expect(missing.status == 400)
        #expect(detail(missing).contains("must carry a Host header"))
        #expect(missing.header("Connection") == nil, "the framing is intact; the connection stays")
        #expect(refusal([], version: "HTTP/1.2")?.status == 400, "HTTP/1.x after 1.1 is read as 1.1")
        #expect(refusal([], version: "HTTP/1.0") == nil)
        let body = try #require(refusal([("Content-Length", "5")]))
        #expect(body.header("Connection") == "close", "a declared body is left unread, so the connection closes")
    }

    @Test(arguments: ["x", "", "localhost:8080", "127.0.0.1", "127.0.0.1:", "[::1]", "[::1]:8080", "[fe80::1%25eth0]", "[v1.x]",
                      "xn--bcher-kva.example", "a-b_c~d.e", "%41b", "sub!$&'()*+,;=delims", " x ", "x:0123456789"])
    func validHostsAreAccepted(host: String) {
        #expect(RequestHeadCheck.isValidHost(host.trimmingOWS()))
        #expect(refusal([("Host", host)]) == nil)
    }

    @Test(arguments: ["x y", "x/y", "x?y", "x#y", "user@x", "x:80:80", "x:8o", "x:-1", "[::1", "[]", "[::1]x", "[::1]:x", "::1", "%4", "%zz", "é.example", "x\"y", "<x>"])
    func invalidHostsAre400WithoutEchoingThem(host: String) throws {
        let response = try #require(refusal([("Host", host)]))
        #expect(response.status == 400)
        #expect(detail(response).contains("Host header is not host[:port]"))
        #expect(!detail(response).contains(host))
        #expect(refusal([("Host", host)], version: "HTTP/1.0")?.status == 400, "an invalid Host is refused in any version")
    }

    @Test func twoHostsAreRefusedAsARepeatedHeader() throws {
        let response = try #require(refusal([("Host", "x"), ("host", "y")]))
        #expect(response.status == 400)
        #expect(detail(response).contains("Host header appears more than once"))
        #expect(response.header("Connection") == "close")
    }

    @Test func moreQueryParametersThanTheLimitAre414NamingIt() throws {
        let limit = RequestHeadCheck.maxQueryParameters
        #expect(refusal(Self.host, query: limit) == nil)
        let response = try #require(refusal(Self.host, query: 250))
        #expect(response.status == 414)
        #expect(detail(response) == "the query has 250 parameters; at most \(limit) are accepted")
        #expect(response.header("Connection") == nil)
        #expect(refusal(Self.host + [("Content-Length", "3")], query: limit + 1)?.header("Connection") == "close")
    }

    /// Framing is checked before Host: a request refused for both says what makes it unframable.
    @Test func framingRefusalsComeFirst() {
        #expect(refusal([("Transfer-Encoding", "gzip, chunked")])?.status == 501)
        #expect(refusal([("Content-Length", "1"), ("Content-Length", "2")], query: 500)?.status == 400)
    }
}
