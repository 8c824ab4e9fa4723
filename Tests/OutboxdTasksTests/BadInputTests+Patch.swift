import Foundation
import OutboxdTestSupport
import Testing

/// G7 for changes to an existing task, and for bodies that are large but within the limit.
extension BadInputTests {
    static let badPatches = [
        (#"{"title":1}"#, "/title: must be a string, not number"),
        (#"{"title":null}"#, "/title: must be a string, not null"),
        (#"{"title":""}"#, "/title: must not be empty"),
        (#"{"description":5}"#, "/description: must be a string or null, not number"),
        (#"{"description":"a\u0000"}"#, "/description: must not contain NUL"),
        (#"{"status":"later"}"#, "/status: must be one of"),
        (#"{"status":null}"#, "/status: must be one of"),
        (#"{"due_at":1e309}"#, "/due_at: must be an RFC 3339 timestamp string or null, not number"),
        (#"{"due_at":"2026-02-30T00:00:00Z"}"#, "/due_at: must be an RFC 3339 timestamp with a zone"),
        (#"{"title":"valid","status":true}"#, "/status"),
        (#"{"title":"valid","owner":"me"}"#, "/owner: is not a known field"),
        ("null", "must be a JSON object, not null"),
        (#"["title"]"#, "must be a JSON object, not array"),
    ]

    /// Each bad patch, valid fields beside it included, leaves the task as it was (one fixture
    /// for all: each case checks that only its own task and creation event were written).
    @Test func patchWithABadFieldChangesNothing() throws {
        let api = try APIFixture(parts: [.api])
        let client = try api.client()
        for (index, (body, mentions)) in Self.badPatches.enumerated() {
            let created = try client.json("POST", "/tasks", #"{"title":"keep me","description":"as is"}"#)
            #expect(created.status == 201)
            let location = try #require(created.header("Location"))
            let response = try client.json("PATCH", location, body)
            #expect(response.status == 422, "\(body)")
            #expect(response.header("Content-Type") == "application/problem+json")
            #expect(try response.string("detail")?.contains(mentions) == true, "\(body) → \(response.text)")
            let task = try client.request("GET", location)
            #expect(task.header("ETag") == "\"1\"", "\(body)")
            #expect(try task.string("title") == "keep me")
            #expect(try task.string("description") == "as is")
            #expect(try api.counts() == (index + 1, index + 1), "\(body)")
        }
    }

    /// An escaped NUL in the path must not cut it short: `/tasks/<id>%00x` is not the task `<id>`.
    @Test func escapedNULInThePathNamesNoTask() throws {
        let api = try APIFixture(parts: [.api])
        let client = try api.client()
        let created = try client.json("POST", "/tasks", #"{"title":"keep me"}"#)
        let location = try #require(created.header("Location"))
        for suffix in ["%00", "%00x"] {
            #expect(try client.json("PATCH", location + suffix, #"{"title":"changed"}"#).status == 404, "\(suffix)")
            #expect(try client.request("DELETE", location + suffix).status == 404, "\(suffix)")
            #expect(try client.request("GET", location + suffix).status == 404, "\(suffix)")
        }
        #expect(try client.request("GET", location + "%00/history").status == 404)
        #expect(try client.request("GET", "/tasks?status=todo%00x").status == 400)
        let task = try client.request("GET", location)
        #expect(task.header("ETag") == "\"1\"")
        #expect(try task.string("title") == "keep me")
        #expect(try api.counts() == (1, 1))
    }

    @Test func hundredThousandElementArrayWithinTheLimitGets422() throws {
        let api = try APIFixture(parts: [.api]) { $0.http.maxBodyBytes = 1 << 20 }
        let body = #"{"title":["# + [String](repeating: "0", count: 100_000).joined(separator: ",") + "]}"
        let response = try api.client().json("POST", "/tasks", body)
        #expect(response.status == 422)
        #expect(try response.string("detail") == "/title: must be a string, not array")
        #expect(try api.counts() == (0, 0))
    }

    @Test func megabyteTitleWithinTheLimitGets422() throws {
        let api = try APIFixture(parts: [.api]) { $0.http.maxBodyBytes = 2 << 20 }
        let response = try api.client().json("POST", "/tasks", #"{"title":""# + String(repeating: "é", count: 500_000) + #""}"#)
        #expect(response.status == 422)
        #expect(try response.string("detail") == "/title: must be at most 200 characters")
        #expect(try api.counts() == (0, 0))
    }
}
