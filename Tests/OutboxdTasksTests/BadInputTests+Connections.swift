import Foundation
import OutboxdTestSupport
import Testing

/// G7 on the wire: ambiguous body lengths, garbage pipelined behind a valid request, and clients
/// that send slowly or stall. Each gets a 4xx or a closed connection and writes nothing.
extension BadInputTests {
    static let validPost = "POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"title\":\"a\"}"

    /// A client with a short read timeout, so a server that never answers fails the test quickly.
    static func client(_ api: APIFixture) throws -> HTTPTestClient {
        try HTTPTestClient(port: api.daemon.httpPort, timeoutSeconds: 10)
    }

    @Test(arguments: [
        "Content-Length: 13\r\nContent-Length: 14\r\n\r\n{\"title\":\"a\"}x",
        "Content-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\nd\r\n{\"title\":\"a\"}\r\n0\r\n\r\n",
        "Transfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\nd\r\n{\"title\":\"a\"}\r\n0\r\n\r\n",
    ])
    func ambiguousBodyLengthIsRefusedAndTheConnectionClosed(framing: String) throws {
        let api = try APIFixture(parts: [.api])
        let client = try Self.client(api)
        try client.send(Array(("POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + framing + Self.validPost).utf8))
        let response = try client.readResponse()
        #expect(response.status == 400)
        #expect(response.header("Content-Type") == "application/problem+json")
        #expect(response.text.contains("Content-Length"), "\(response.text)")
        #expect(client.isClosedByServer())
        #expect(try api.counts() == (0, 0))
    }

    @Test(arguments: [
        "\u{1}\u{2}GARBAGE\r\n\r\n",
        "POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nno colon here\r\n\r\n",
        "POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nContent-Length: 13\r\n\r\n",
    ])
    func pipelinedGarbageAfterAValidRequestWritesNothingMore(garbage: String) throws {
        let api = try APIFixture(parts: [.api])
        let client = try Self.client(api)
        try client.send(Array((Self.validPost + garbage + Self.validPost).utf8))
        #expect(try client.readResponse().status == 201)
        if let second = try? client.readResponse() {
            #expect((400...499).contains(second.status), "\(second.status): \(second.text)")
        }
        #expect(client.isClosedByServer())
        #expect(try api.counts() == (1, 1))
    }

    @Test func badRequestPipelinedBetweenGoodOnesDisturbsNeither() throws {
        let api = try APIFixture(parts: [.api])
        let client = try Self.client(api)
        let bad = "POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"title\": }"
        try client.send(Array((Self.validPost + bad + Self.validPost).utf8))
        #expect(try client.readResponse().status == 201)
        let second = try client.readResponse()
        #expect(second.status == 400)
        #expect(second.text.contains("malformed JSON"))
        #expect(try client.readResponse().status == 201)
        #expect(try api.counts() == (2, 2))
    }

    /// Found by the HTTP fuzz target: libmicrohttpd sent 100 to a body-less DELETE that expected
    /// it, ran it, then closed the connection without the 204 because another request followed.
    @Test func expectContinueWithoutABodyStillGetsItsAnswer() throws {
        let api = try APIFixture(parts: [.api])
        let created = try api.client().json("POST", "/tasks", #"{"title":"a"}"#)
        let location = try #require(created.header("Location"))
        let client = try Self.client(api)
        try client.send(Array("DELETE \(location) HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(try client.readResponse().status == 204)
        #expect(try api.counts() == (0, 2))
    }

    /// The idle timeout measures silence, not the whole request: a slow but steady client is served.
    @Test func slowClientSendingAByteAtATimeIsServed() throws {
        let api = try APIFixture(parts: [.api]) { $0.http.idleTimeout = .seconds(1) }
        let slow = try Self.client(api)
        let started = ContinuousClock.now
        try trickle(Self.validPost, to: slow, over: .milliseconds(2500)) {
            let other = try api.client().request("GET", "/healthz")
            #expect(other.status == 200)
        }
        #expect(ContinuousClock.now - started > .seconds(1))
        #expect(try slow.readResponse().status == 201)
        #expect(try api.counts() == (1, 1))
    }

    @Test func slowClientWithMalformedJSONGets400() throws {
        let api = try APIFixture(parts: [.api]) { $0.http.idleTimeout = .seconds(1) }
        let slow = try Self.client(api)
        let request = "POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"title\": 1,}"
        try trickle(request, to: slow, over: .milliseconds(2500)) {
            let other = try api.client().json("POST", "/tasks", #"{"title":"meanwhile"}"#)
            #expect(other.status == 201)
        }
        let response = try slow.readResponse()
        #expect(response.status == 400)
        #expect(response.text.contains("malformed JSON"))
        #expect(try api.counts() == (1, 1))
    }

    @Test(arguments: [
        "POST /tasks HTTP/1.1\r\nHost: x\r\nConte",
        "POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"title\":\"stalled",
        "POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n{\"title\":",
    ])
    func stalledRequestIsCutOffByTheIdleTimeout(partial: String) throws {
        let api = try APIFixture(parts: [.api]) { $0.http.idleTimeout = .seconds(1) }
        let stalled = try Self.client(api)
        try stalled.send(Array(partial.utf8))
        let started = ContinuousClock.now
        #expect(try api.client().json("POST", "/tasks", #"{"title":"meanwhile"}"#).status == 201)
        #expect(stalled.isClosedByServer())
        let waited = ContinuousClock.now - started
        #expect(waited > .milliseconds(500) && waited < .seconds(5), "closed after \(waited)")
        #expect(try api.counts() == (1, 1))
    }

    /// Issue #14: the idle timeout only measures silence, so a client sending a byte of its request
    /// head (or body) every half second held its connection forever. The request deadline cuts it
    /// off however steadily it trickles, and nothing is written.
    @Test(arguments: [
        "POST /tasks HTTP/1.1\r\nHost: x\r\nX-Padding: " + String(repeating: "a", count: 200),
        "POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 900\r\n\r\n{\"title\":\"" + String(repeating: "a", count: 200),
    ])
    func tricklingClientIsCutOffByTheRequestDeadline(request: String) throws {
        let api = try APIFixture(parts: [.api]) {
            $0.http.idleTimeout = .seconds(2)
            $0.http.requestTimeout = .seconds(2)
        }
        let slow = try Self.client(api)
        var cutOff = false
        for byte in request.utf8 {
            do {
                try slow.send([byte])
            } catch {
                cutOff = true
                break
            }
            // Each byte comes well within the idle timeout; only the deadline can end this.
            Thread.sleep(forTimeInterval: 0.25)
        }
        #expect(cutOff || slow.isClosedByServer(), "the server let a trickling client hold its connection for the whole request")
        #expect(try api.client().json("POST", "/tasks", #"{"title":"meanwhile"}"#).status == 201)
        #expect(try api.counts() == (1, 1))
        let metrics = try api.client().request("GET", "/metrics").text
        #expect(try PrometheusScrape(metrics).value("outboxd_http_request_timeouts_total", ["listener": "api"]) == 1)
    }

    /// Sends `text` a byte at a time spread over `duration`, running `meanwhile` halfway.
    private func trickle(_ text: String, to client: HTTPTestClient, over duration: Duration, meanwhile: () throws -> Void) throws {
        let bytes = Array(text.utf8)
        let pause = duration / bytes.count
        for (index, byte) in bytes.enumerated() {
            try client.send([byte])
            if index == bytes.count / 2 { try meanwhile() }
            Thread.sleep(forTimeInterval: Double(pause.components.attoseconds) / 1e18 + Double(pause.components.seconds))
        }
    }
}
