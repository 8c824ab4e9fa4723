import Dispatch
import Foundation
import OutboxdCore
import OutboxdTestSupport
import Synchronization
import Testing
@testable import OutboxdHTTP

/// Echoes what it received; a request to /block waits until the test opens the gate.
final class EchoHandler: HTTPHandler {
    let gate = DispatchSemaphore(value: 0)
    let entered = DispatchSemaphore(value: 0)
    /// Requests the handler ran.
    let handled = Atomic<Int>(0)

    func handle(_ request: HTTPRequest) -> HTTPResponse {
        handled.add(1, ordering: .relaxed)
        if request.path == "/block" {
            entered.signal()
            gate.wait()
        }
        var object = JSONObject()
        object.append("method", .string(request.method))
        object.append("path", .string(request.path))
        object.append("query", .array(request.query.map { .string("\($0.name)=\($0.value)") }))
        object.append("type", request.headers["content-type"].map(JSONValue.string) ?? .null)
        object.append("body", .string(String(decoding: request.body, as: UTF8.self)))
        return .json(200, .object(object))
    }
}

@Suite struct MHDServerTests {
    func server(_ handler: EchoHandler, maxBody: Int = 1024) throws -> MHDServer {
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configuration.maxBodyBytes = maxBody
        let server = MHDServer(configuration: configuration, handler: handler)
        try server.start()
        return server
    }

    @Test func keepAliveRequestsWithBodiesQueriesAndHeaders() throws {
        let server = try server(EchoHandler())
        defer { server.stop(timeout: .seconds(5)) }
        #expect(server.port > 0)
        let client = try HTTPTestClient(port: server.port)
        for n in 0..<20 {
            let response = try client.request("POST", "/things/\(n)?a=1&b=x%20y", headers: [("Content-Type", "application/json")], body: Array("payload \(n)".utf8))
            #expect(response.status == 200)
            let echo = try #require(try response.json().objectValue)
            #expect(echo["path"] == .string("/things/\(n)"))
            #expect(echo["query"] == ["a=1", "b=x y"])
            #expect(echo["type"] == "application/json")
            #expect(echo["body"] == .string("payload \(n)"))
        }
    }

    @Test func bodyOverTheLimitNeverReachesTheHandler() throws {
        let server = try server(EchoHandler(), maxBody: 16)
        defer { server.stop(timeout: .seconds(5)) }
        let response = try HTTPTestClient(port: server.port).request("POST", "/x", body: Array(repeating: UInt8(ascii: "a"), count: 17))
        #expect(response.status == 413)
        #expect(response.header("Content-Type") == "application/problem+json")
        let atLimit = try HTTPTestClient(port: server.port).request("POST", "/x", body: Array(repeating: UInt8(ascii: "a"), count: 16))
        #expect(atLimit.status == 200)
    }

    @Test func listeningTwiceOnOnePortFailsNamingTheAddress() throws {
        let first = try server(EchoHandler())
        defer { first.stop(timeout: .seconds(5)) }
        var configuration = HTTPServerConfiguration()
        configuration.port = first.port
        let second = MHDServer(configuration: configuration, handler: EchoHandler())
        do {
            try second.start()
            second.stop(timeout: .seconds(1))
            Issue.record("bound a port in use")
        } catch {
            #expect("\(error)".contains("127.0.0.1:\(first.port)"))
        }
    }

    /// G8 for HTTP: stop() refuses new connections, lets the request in flight finish and
    /// answers it with Connection: close, then returns. A request that arrives on a kept-alive
    /// connection meanwhile is served too; one that arrives after the wait, as the connections
    /// are about to close, is answered 503 without running the handler, since a change made then
    /// could lose its answer.
    @Test func stopFinishesTheRequestInFlight() throws {
        let handler = EchoHandler()
        let server = try server(handler)
        let port = server.port
        let client = try HTTPTestClient(port: port)
        let idle = try HTTPTestClient(port: port)
        let late = SendableClient(try HTTPTestClient(port: port))
        #expect(try idle.request("GET", "/warm").status == 200)
        #expect(try late.client.request("GET", "/warm").status == 200)
        let lateAnswer = Mutex<(status: Int, connection: String?, handledBefore: Int, handledAfter: Int)?>(nil)
        server.onDrained.withLock {
            $0 = {
                let before = handler.handled.load(ordering: .relaxed)
                let response = try? late.client.request("POST", "/late", body: Array("{}".utf8))
                lateAnswer.withLock { $0 = (response?.status ?? 0, response?.header("Connection"), before, handler.handled.load(ordering: .relaxed)) }
            }
        }

        try client.send(Array("GET /block HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        handler.entered.wait()
        let stopped = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            server.stop(timeout: .seconds(30))
            stopped.signal()
        }
        // New connections are refused once the listener is quiesced.
        let deadline = ContinuousClock.now + .seconds(10)
        while (try? HTTPTestClient(port: port)) != nil {
            try #require(ContinuousClock.now < deadline, "still accepting connections")
            Thread.sleep(forTimeInterval: 0.005)
        }
        #expect(stopped.wait(timeout: .now()) == .timedOut, "stop returned while a request was in flight")
        let meanwhile = try idle.request("GET", "/meanwhile")
        #expect(meanwhile.status == 200, "a request on a kept-alive connection during the wait is served")
        #expect(meanwhile.header("Connection")?.lowercased() == "close")
        handler.gate.signal()
        let response = try client.readResponse()
        #expect(response.status == 200)
        #expect(response.header("Connection")?.lowercased() == "close")
        #expect(stopped.wait(timeout: .now() + 30) == .success)
        #expect(idle.isClosedByServer())
        let answer = try #require(lateAnswer.withLock { $0 })
        #expect(answer.status == 503, "a request after the wait is refused")
        #expect(answer.connection?.lowercased() == "close")
        #expect(answer.handledAfter == answer.handledBefore, "the handler ran a request that arrived after the wait")
    }
}

/// A test client handed to the server's stop hook; only that hook uses it then.
final class SendableClient: @unchecked Sendable {
    let client: HTTPTestClient
    init(_ client: HTTPTestClient) { self.client = client }
}

@Suite struct RouterTests {
    var router: Router {
        var router = Router()
        router.add("GET", "/tasks/{id}") { _, captures in .text(200, "get \(captures["id"]!)") }
        router.add("DELETE", "/tasks/{id}") { _, captures in .text(204, "") }
        router.add("POST", "/tasks") { _, _ in .text(201, "made") }
        return router
    }

    @Test func matchesCapturesAndMethods() {
        #expect(router.handle(HTTPRequest(method: "GET", path: "/tasks/abc")).body == Array("get abc".utf8))
        #expect(router.handle(HTTPRequest(method: "POST", path: "/tasks/")).status == 201)
        #expect(router.handle(HTTPRequest(method: "HEAD", path: "/tasks/abc")).status == 200)
    }

    @Test func unknownPathIs404AndWrongMethodIs405WithAllow() {
        #expect(router.handle(HTTPRequest(method: "GET", path: "/other")).status == 404)
        let response = router.handle(HTTPRequest(method: "PUT", path: "/tasks/abc"))
        #expect(response.status == 405)
        #expect(response.header("Allow") == "GET, DELETE, HEAD")
    }
}
