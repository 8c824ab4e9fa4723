import OutboxdCore
import Synchronization
import Testing
@testable import OutboxdHTTP

@Suite struct BearerTokenAuthTests {
    let auth = BearerTokenAuth(tokens: ["first-token-0123456789", "second-token-0123456789"])

    func request(_ authorization: String?) -> HTTPRequest {
        HTTPRequest(method: "GET", path: "/tasks", headers: HTTPHeaders(authorization.map { [("Authorization", $0)] } ?? []))
    }

    @Test func acceptsEachConfiguredTokenAnyCaseOfTheScheme() {
        #expect(auth.check(request("Bearer first-token-0123456789")) == nil)
        #expect(auth.check(request("bearer second-token-0123456789")) == nil)
    }

    @Test(arguments: [
        (nil, "needs an Authorization", nil),
        ("Basic Zm9vOmJhcg==", "Bearer scheme", "invalid_request"),
        ("Bearer", "Bearer scheme", "invalid_request"),
        ("Bearer first-token-012345678", "not accepted", "invalid_token"),
        ("Bearer first-token-01234567890", "not accepted", "invalid_token"),
        ("Bearer  first-token-0123456789", "not accepted", "invalid_token"),
    ] as [(String?, String, String?)])
    func refusesWith401ProblemAndChallenge(authorization: String?, detail: String, error: String?) throws {
        let response = try #require(auth.check(request(authorization)))
        #expect(response.status == 401)
        #expect(response.header("Content-Type") == "application/problem+json")
        #expect(response.header("WWW-Authenticate") == "Bearer realm=\"outboxd\"" + (error.map { ", error=\"\($0)\"" } ?? ""))
        let body = try JSONParser.parse(response.body).objectValue
        #expect(body?["detail"]?.stringValue?.contains(detail) == true)
        #expect(!String(decoding: response.body, as: UTF8.self).contains("first-token"))
    }

    @Test func constantTimeEqualityComparesEveryByteAndTheLength() {
        #expect(BearerTokenAuth.constantTimeEquals(Array("abc".utf8), Array("abc".utf8)))
        #expect(!BearerTokenAuth.constantTimeEquals(Array("abc".utf8), Array("abd".utf8)))
        #expect(!BearerTokenAuth.constantTimeEquals(Array("abc".utf8), Array("abc\0".utf8)))
        #expect(!BearerTokenAuth.constantTimeEquals([], Array("a".utf8)))
        #expect(BearerTokenAuth.constantTimeEquals([], []))
    }

    @Test func routerAsksOnlyForProtectedRoutesAndReportsRoutePatterns() {
        var router = Router()
        router.add("GET", "/healthz", open: true) { _, _ in .text(200, "ok") }
        router.add("GET", "/tasks/{id}") { _, captures in .text(200, captures["id"]!) }
        router.authorization = { auth.check($0) }
        let seen = Mutex<[String]>([])
        router.observer = { route, response, _ in seen.withLock { $0.append("\(route) \(response.status)") } }

        #expect(router.handle(HTTPRequest(method: "GET", path: "/healthz")).status == 200)
        #expect(router.handle(HTTPRequest(method: "GET", path: "/tasks/7")).status == 401)
        let authorized = HTTPRequest(method: "GET", path: "/tasks/7", headers: HTTPHeaders([("Authorization", "Bearer first-token-0123456789")]))
        #expect(router.handle(authorized).body == Array("7".utf8))
        #expect(router.handle(HTTPRequest(method: "GET", path: "/nope")).status == 404)
        #expect(seen.withLock { $0 } == ["GET /healthz 200", "GET /tasks/{id} 401", "GET /tasks/{id} 200", "unmatched 404"])
    }
}
