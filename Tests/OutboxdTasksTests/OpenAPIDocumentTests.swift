import Foundation
import OutboxdCore
import OutboxdDaemon
import OutboxdTestSupport
import Testing

/// `GET /openapi.json` serves docs/openapi.json, which describes exactly the routes the daemon
/// has; the recorded responses of the API tests are checked against it by `APIFixture`, and
/// that check fails for a document that does not fit them.
@Suite struct OpenAPIDocumentTests {
    static var documentFile: URL { TestEnvironment.repositoryRoot.appendingPathComponent("docs/openapi.json") }

    @Test func theServedDocumentIsDocsOpenAPIJSON() throws {
        let file = try String(contentsOf: Self.documentFile, encoding: .utf8)
        #expect(file == OpenAPIDocument.text, "run scripts/openapi-embed.sh after editing docs/openapi.json")
        let api = try APIFixture(parts: [.api])
        let response = try api.client().request("GET", "/openapi.json")
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "application/json")
        #expect(response.text == file)
        let document = try response.json()
        #expect(document["openapi"]?.stringValue == "3.1.0")
        #expect(document["info"]?["version"]?.stringValue == OutboxdVersion.current, "the document names the release")
    }

    /// Open like `/healthz` with API_TOKENS set, closed with HEALTH_METRICS_AUTH=token.
    @Test func theDocumentNeedsATokenOnlyWhereHealthDoes() throws {
        let token = "a-token-of-sixteen-chars"
        let open = try APIFixture(parts: [.api]) { $0.access.apiTokens = [token] }
        let client = try open.client()
        #expect(try client.request("GET", "/openapi.json").status == 200)
        #expect(try client.request("GET", "/tasks").status == 401)
        let closed = try APIFixture(parts: [.api]) {
            $0.access.apiTokens = [token]
            $0.access.healthAndMetricsNeedToken = true
        }
        let closedClient = try closed.client()
        #expect(try closedClient.request("GET", "/openapi.json").status == 401)
        #expect(try closedClient.request("GET", "/openapi.json", headers: [("Authorization", "Bearer \(token)")]).status == 200)
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedOperationIsARoute() throws {
        let api = try APIFixture(parts: [.api])
        let routes = Set(api.daemon.apiRoutes)
        let documented = Set(try OpenAPIValidator(text: OpenAPIDocument.text).operations)
        #expect(routes.count >= 10)
        #expect(routes.subtracting(documented).isEmpty, "routes missing from docs/openapi.json: \(routes.subtracting(documented).sorted())")
        #expect(documented.subtracting(routes).isEmpty, "documented operations the daemon does not have: \(documented.subtracting(routes).sorted())")
    }

    /// The check `APIFixture` runs is not a formality: real responses fail it once a status is
    /// taken out of the document or a property's type changed, and pass it as it is.
    @Test func theCheckFailsForADocumentThatDoesNotFitTheResponses() throws {
        let api = try APIFixture(parts: [.api])
        let client = try api.client()
        let created = try client.json("POST", "/tasks", #"{"title":"checked"}"#)
        let id = try #require(try created.string("id"))
        _ = try client.request("GET", "/tasks/\(id)")
        _ = try client.request("GET", "/tasks/\(UUID().lowercaseString)")
        _ = try client.json("POST", "/tasks", #"{"title":""}"#)
        _ = try client.request("GET", "/nowhere")
        let exchanges = api.recorder.exchanges
        #expect(exchanges.map(\.status) == [201, 200, 404, 422, 404])

        let original = try JSONParser.parse(Array(OpenAPIDocument.text.utf8))
        let validator = OpenAPIValidator(document: original)
        #expect(exchanges.compactMap { validator.problems(of: $0) }.flatMap { $0 }.isEmpty)
        #expect(validator.problems(of: exchanges[4]) == nil, "an unknown route is no operation")

        let withoutCreated = OpenAPIValidator(document: try Self.editing(original, ["paths", "/tasks", "post", "responses"]) { $0.removing("201") })
        #expect(withoutCreated.problems(of: exchanges[0]) == ["POST /tasks → 201: status 201 is not documented for POST /tasks"])
        let withoutNotFound = OpenAPIValidator(document: try Self.editing(original, ["paths", "/tasks/{id}", "get", "responses"]) { $0.removing("404") })
        #expect(withoutNotFound.problems(of: exchanges[2])?.count == 1)

        let titleAnInteger = OpenAPIValidator(document: try Self.editing(original, ["components", "schemas", "Task", "properties"]) {
            $0.replacing("title", with: .object(JSONObject(["type": "integer"])))
        })
        #expect(titleAnInteger.problems(of: exchanges[1]) == ["GET /tasks/{id} → 200: body /title: is string, not integer"])
        #expect(titleAnInteger.problems(of: exchanges[0])?.isEmpty == true, "CreatedTask has its own properties")

        let fieldErrorsWithoutPointer = OpenAPIValidator(document: try Self.editing(original, ["components", "schemas", "FieldError", "properties"]) {
            $0.removing("pointer")
        })
        #expect(fieldErrorsWithoutPointer.problems(of: exchanges[3]) == ["POST /tasks → 422: body /errors/0: the property pointer is not documented"])

        let etagMissing = RecordedExchange(method: "GET", path: "/tasks/\(id)", status: 200,
                                           headers: exchanges[1].headers.filter { $0.name.lowercased() != "etag" }, body: exchanges[1].body)
        #expect(validator.problems(of: etagMissing) == ["GET /tasks/{id} → 200: documented header ETag is missing"])
        let htmlProblem = RecordedExchange(method: "GET", path: "/tasks/\(id)", status: 404, headers: [("Content-Type", "text/html")], body: Array("<html/>".utf8))
        #expect(validator.problems(of: htmlProblem)?.first?.contains("Content-Type text/html is not documented") == true)
    }

    /// `document` with the object at `path` changed by `change`.
    static func editing(_ document: JSONValue, _ path: [String], _ change: (JSONObject) -> JSONObject) throws -> JSONValue {
        guard let key = path.first else {
            return .object(change(try #require(document.objectValue)))
        }
        let object = try #require(document.objectValue)
        let inner = try #require(object[key])
        return .object(object.replacing(key, with: try editing(inner, Array(path.dropFirst()), change)))
    }
}

extension JSONObject {
    /// A copy without the member `key`.
    func removing(_ key: String) -> JSONObject {
        var copy = JSONObject()
        for member in members where member.key != key { copy.append(member.key, member.value) }
        return copy
    }

    /// A copy with the member `key`'s value replaced (in place).
    func replacing(_ key: String, with value: JSONValue) -> JSONObject {
        var copy = JSONObject()
        for member in members { copy.append(member.key, member.key == key ? value : member.value) }
        return copy
    }
}
