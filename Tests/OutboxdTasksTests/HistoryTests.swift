import Foundation
import OutboxdCore
import OutboxdDaemon
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
}
