import Foundation
import OutboxdCore
import OutboxdDaemon
import OutboxdTasks
import OutboxdTestSupport
import Testing

/// GET /tasks/{id}/history: what the audit consumer of the same process recorded.
@Suite struct HistoryTests {
    @Test func historyListsTheTasksEventsOldestFirstAlsoAfterDelete() throws {
        let api = try APIFixture(parts: [.api, .relay, .consumers]) { $0.consumers.enabled = ["audit"] }
        let client = try api.client()
        let created = try client.json("POST", "/tasks", #"{"title":"tracked"}"#)
        let id = try #require(try created.string("id"))
        #expect(try client.json("PATCH", "/tasks/\(id)", #"{"status":"done"}"#).status == 200)
        #expect(try client.request("DELETE", "/tasks/\(id)").status == 204)
        var items: [JSONValue] = []
        try waitUntil("four events in the history") {
            // 404 until the audit consumer recorded the first event of the deleted task.
            let response = try client.request("GET", "/tasks/\(id)/history")
            guard response.status == 200 else { return false }
            items = try response.json().objectValue?["items"]?.arrayValue ?? []
            return items.count == 4
        }
        #expect(items.compactMap { $0.objectValue?["event_type"]?.stringValue } == ["task.created", "task.updated", "task.completed", "task.deleted"])
        let first = try #require(items.first?.objectValue)
        #expect(first["payload"]?.objectValue?["task"]?.objectValue?["title"]?.stringValue == "tracked")
        #expect(first["event_id"]?.stringValue == first["payload"]?.objectValue?["event_id"]?.stringValue)
        #expect(first["recorded_at"]?.stringValue.flatMap(Timestamp.init(rfc3339:)) != nil)

        // The counters move just after the commit that made the history visible.
        var audit: JSONObject?
        try waitUntil("readyz counts the four events") {
            audit = try client.request("GET", "/readyz").json().objectValue?["components"]?.objectValue?["consumers"]?.objectValue?["audit"]?.objectValue
            return audit?["applied"]?.numberText == "4"
        }
        #expect(audit?["group"]?.stringValue == "outboxd-audit")
        #expect(audit?["dead_lettered"]?.numberText == "0")

        #expect(try client.request("GET", "/tasks/\(UUID().lowercaseString)/history").status == 404)
        #expect(try client.request("GET", "/tasks/not-a-uuid/history").status == 404) // like GET /tasks/{id}: ids are UUIDs
    }

    /// Audit rows for `taskID` written by SQL (as the audit consumer would): `count` events `n` =
    /// 1…count, in pairs sharing an `occurred_at` (ties are ordered by id), inserted newest pair
    /// first (so id order is not time order), each payload padded to `padding` bytes.
    static func recordHistory(_ api: APIFixture, taskID: String, count: Int, padding: Int = 0) throws {
        let connection = try api.database.connect()
        defer { connection.close() }
        try connection.query("""
            INSERT INTO audit_log (event_id, event_type, task_id, payload, occurred_at)
            SELECT gen_random_uuid(), 'task.updated', $1::uuid, jsonb_build_object('n', n, 'pad', repeat('p', $3::int)),
                   timestamptz '2026-01-01 00:00:00+00' + ((n + 1) / 2) * interval '1 second'
            FROM generate_series(1, $2::int) AS n ORDER BY (n + 1) / 2 DESC, n
            """, [taskID, count, padding])
    }

    /// Reads every page with `limit`; returns the `n` of each item in order and the pages' sizes.
    static func readAll(_ client: HTTPTestClient, _ taskID: String, query: String) throws -> (numbers: [Int], pages: [Int]) {
        var numbers: [Int] = [], pages: [Int] = []
        var after: String?
        repeat {
            let separator = query.isEmpty ? "" : "&"
            let path = "/tasks/\(taskID)/history?\(query)" + (after.map { "\(separator)after=\($0)" } ?? "")
            let response = try client.request("GET", path)
            #expect(response.status == 200, "\(path): \(response.text.prefix(300))")
            let body = try #require(try response.json().objectValue)
            let items = body["items"]?.arrayValue ?? []
            numbers += items.compactMap { $0.objectValue?["payload"]?.objectValue?["n"]?.numberText.flatMap { Int($0) } }
            pages.append(items.count)
            after = body["next_after"]?.stringValue
            #expect(body["next_after"] != nil, "next_after is always present (null on the last page)")
            if pages.count > 100 { break }
        } while after != nil
        return (numbers, pages)
    }

    /// Issue #14: the whole history came in one response (hundreds of MB after thousands of large
    /// PATCHes). Pages now follow GET /tasks: 20 by default, `limit` up to 100, `next_after`.
    @Test func historyIsPagedLikeTheTaskList() throws {
        let api = try APIFixture(parts: [.api])
        let client = try api.client()
        let id = try #require(try client.json("POST", "/tasks", #"{"title":"paged"}"#).string("id"))
        try Self.recordHistory(api, taskID: id, count: 45)

        let first = try client.request("GET", "/tasks/\(id)/history")
        #expect(first.status == 200)
        let body = try #require(try first.json().objectValue)
        #expect(body["task_id"]?.stringValue == id)
        #expect(body["items"]?.arrayValue?.count == TaskRoutes.defaultPageSize)
        #expect(body["next_after"]?.stringValue != nil)

        let byDefault = try Self.readAll(client, id, query: "")
        #expect(byDefault.pages == [20, 20, 5])
        #expect(byDefault.numbers == Array(1...45), "oldest first (occurred_at, then id), none twice or lost")
        let bySeven = try Self.readAll(client, id, query: "limit=7")
        #expect(bySeven.pages == [7, 7, 7, 7, 7, 7, 3])
        #expect(bySeven.numbers == Array(1...45))
        let whole = try Self.readAll(client, id, query: "limit=100")
        #expect(whole.pages == [45])

        // A live task without history yet: an empty page, as before.
        let fresh = try #require(try client.json("POST", "/tasks", #"{"title":"fresh"}"#).string("id"))
        let empty = try client.request("GET", "/tasks/\(fresh)/history?limit=5")
        #expect(empty.status == 200)
        #expect(try empty.json().objectValue?["items"]?.arrayValue?.count == 0)
        #expect(try empty.json().objectValue?["next_after"] == .null)
    }

    /// However large the payloads other writers put in the outbox (and so in the audit log), a
    /// page stops once it passes 1 MiB; one item always fits.
    @Test func aPageOfLargePayloadsStopsAtOneMebibyte() throws {
        let api = try APIFixture(parts: [.api])
        let client = try api.client()
        let id = try #require(try client.json("POST", "/tasks", #"{"title":"large"}"#).string("id"))
        try Self.recordHistory(api, taskID: id, count: 9, padding: 300_000)
        let response = try client.request("GET", "/tasks/\(id)/history?limit=100")
        #expect(response.status == 200)
        #expect(response.body.count <= (1 << 20) + 1000)
        let all = try Self.readAll(client, id, query: "limit=100")
        #expect(all.pages == [3, 3, 3])
        #expect(all.numbers == Array(1...9))

        let huge = try #require(try client.json("POST", "/tasks", #"{"title":"huge"}"#).string("id"))
        try Self.recordHistory(api, taskID: huge, count: 2, padding: 1_500_000)
        #expect(try Self.readAll(client, huge, query: "limit=100").pages == [1, 1])
    }

    struct BadQuery: Sendable, CustomTestStringConvertible {
        let query: String
        let status: Int
        let mentions: String
        var testDescription: String { query }
    }

    /// Base64url of `h,<id>`, as the API makes them.
    static func token(_ text: String) -> String {
        Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static let badQueries: [BadQuery] = [
        BadQuery(query: "limit=0", status: 400, mentions: "limit"),
        BadQuery(query: "limit=101", status: 400, mentions: "limit"),
        BadQuery(query: "limit=-1", status: 400, mentions: "limit"),
        BadQuery(query: "limit=%2B5", status: 400, mentions: "limit"),
        BadQuery(query: "limit=abc", status: 400, mentions: "limit"),
        BadQuery(query: "limit=", status: 400, mentions: "limit"),
        BadQuery(query: "limit=2147483648", status: 400, mentions: "limit"),
        BadQuery(query: "limit=4294967296", status: 400, mentions: "limit"),
        BadQuery(query: "limit=9223372036854775808", status: 400, mentions: "limit"),
        BadQuery(query: "limit=99999999999999999999999999999", status: 400, mentions: "limit"),
        BadQuery(query: "after=zzz", status: 400, mentions: "after"),
        BadQuery(query: "after=", status: 400, mentions: "after"),
        BadQuery(query: "after=" + token("h,0"), status: 400, mentions: "after"),
        BadQuery(query: "after=" + token("h,-1"), status: 400, mentions: "after"),
        BadQuery(query: "after=" + token("h,9223372036854775808"), status: 400, mentions: "after"),
        BadQuery(query: "after=" + token("h,99999999999999999999999"), status: 400, mentions: "after"),
        BadQuery(query: "after=" + token("h,2147483648"), status: 400, mentions: "after"),
        BadQuery(query: "after=" + token("h,9223372036854775807"), status: 400, mentions: "after"),
        BadQuery(query: "after=" + token("1767225600000000,00000000-0000-0000-0000-000000000000"), status: 400, mentions: "after"),
        BadQuery(query: "status=todo", status: 400, mentions: "allowed: limit, after"),
        BadQuery(query: "cursor=1", status: 400, mentions: "allowed: limit, after"),
    ]

    nonisolated(unsafe) static let shared = Result { () throws -> (APIFixture, String, String) in
        let api = try APIFixture(parts: [.api])
        let client = try api.client()
        let id = try #require(try client.json("POST", "/tasks", #"{"title":"queried"}"#).string("id"))
        let other = try #require(try client.json("POST", "/tasks", #"{"title":"other"}"#).string("id"))
        try recordHistory(api, taskID: id, count: 3)
        try recordHistory(api, taskID: other, count: 3)
        return (api, id, other)
    }

    /// Bad parameters are a 400 naming the parameter, never a 500 (numbers beyond 32 and 64 bits
    /// included); nothing is written.
    @Test(arguments: badQueries) func aBadHistoryQueryIsA400(_ bad: BadQuery) throws {
        let (api, id, _) = try Self.shared.get()
        let before = try api.counts()
        let response = try api.client().request("GET", "/tasks/\(id)/history?\(bad.query)")
        #expect(response.status == bad.status, "\(response.text)")
        #expect(response.header("Content-Type") == "application/problem+json")
        #expect(response.text.contains(bad.mentions), "\(response.text)")
        #expect(try api.counts() == before)
    }

    /// A cursor from another task's history is refused rather than read as an empty page; the
    /// task list refuses numbers beyond 32 bits in `limit` the same way.
    @Test func aCursorOfAnotherTaskAndHugeListLimitsAreA400() throws {
        let (api, id, other) = try Self.shared.get()
        let client = try api.client()
        let page = try client.request("GET", "/tasks/\(other)/history?limit=1").json().objectValue
        let foreign = try #require(page?["next_after"]?.stringValue)
        let response = try client.request("GET", "/tasks/\(id)/history?after=\(foreign)")
        #expect(response.status == 400)
        #expect(response.text.contains("after"))
        #expect(try client.request("GET", "/tasks/\(other)/history?after=\(foreign)").status == 200)
        #expect(try client.request("GET", "/tasks/\(UUID().lowercaseString)/history?limit=5").status == 404)
        for limit in ["2147483648", "4294967296", "9223372036854775808", "99999999999999999999999999999"] {
            let list = try client.request("GET", "/tasks?limit=\(limit)")
            #expect(list.status == 400, "limit=\(limit): \(list.text)")
            #expect(list.text.contains("limit"))
        }
    }
}

