import Foundation
import OutboxdCore
import OutboxdKafka
import OutboxdTestSupport
import Testing

/// A write's W3C Trace Context travels with its events: stored in `outbox.headers`, sent as
/// Kafka headers by the relay. A malformed one is ignored, never an error.
@Suite struct TraceContextAPITests {
    static let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    /// Through group commit (no Idempotency-Key) and the one-request path (with one).
    @Test(arguments: [false, true])
    func aValidTraceparentReachesKafkaWithTheEventAndAMalformedOneIsIgnored(idempotent: Bool) throws {
        let api = try APIFixture()
        let client = try api.client()
        func key(_ name: String) -> [(String, String)] { idempotent ? [("Idempotency-Key", name)] : [] }
        let traced = try client.json("POST", "/tasks", #"{"title":"traced"}"#, headers: key("traced") + [
            ("traceparent", Self.parent), ("tracestate", "rojo=00f067aa0ba902b7"), ("tracestate", "congo=t61rcWkgMzE"),
        ])
        #expect(traced.status == 201)
        let malformed = try client.json("POST", "/tasks", #"{"title":"untraced"}"#, headers: key("untraced") + [
            ("traceparent", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"), ("tracestate", "rojo=00f067aa0ba902b7"),
        ])
        #expect(malformed.status == 201)
        let tracedID = try #require(try traced.string("id")), malformedID = try #require(try malformed.string("id"))

        let stored = try api.database.connect().query("SELECT aggregate_id, headers::text AS headers FROM outbox ORDER BY id")
            .map { (try $0.require(String.self, "aggregate_id"), try $0.require(String.self, "headers")) }
        #expect(stored.map(\.0) == [tracedID, malformedID])
        #expect(stored.map(\.1) == [#"{"tracestate": "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", "traceparent": "\#(Self.parent)"}"#, "{}"])

        let bootstrap = try #require(try client.request("GET", "/readyz").json().objectValue?["components"]?
            .objectValue?["kafka"]?.objectValue?["bootstrap_servers"]?.stringValue)
        let consumer = try RDKafkaConsumer(configuration: KafkaClientConfiguration(bootstrapServers: bootstrap),
                                           groupID: "test-\(UUID())", topics: ["task-events"])
        let eventIDs = try api.database.connect().query("SELECT event_id::text AS id FROM outbox").map { try $0.require(String.self, "id") }
        let records = try consumer.readEvents(Set(eventIDs), timeout: .seconds(30))
        let byKey = Dictionary(records.map { (String(decoding: $0.key, as: UTF8.self), $0) }, uniquingKeysWith: { first, _ in first })
        let tracedRecord = try #require(byKey[tracedID]), malformedRecord = try #require(byKey[malformedID])
        #expect(tracedRecord.header("traceparent") == Self.parent)
        #expect(tracedRecord.header("tracestate") == "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
        #expect(malformedRecord.header("traceparent") == nil)
        #expect(malformedRecord.header("tracestate") == nil)
        #expect(malformedRecord.header("ce_type") == "task.created")
    }

    /// PATCH and DELETE store their own request's context with every event they emit
    /// (`task.updated` and `task.completed` alike); a request without one stores `{}`.
    @Test func patchAndDeleteStoreTheirRequestsContext() throws {
        let api = try APIFixture(parts: [.api])
        let client = try api.client()
        let id = try #require(try client.json("POST", "/tasks", #"{"title":"to finish"}"#).string("id"))
        let patchParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        #expect(try client.json("PATCH", "/tasks/\(id)", #"{"status":"done"}"#, headers: [("traceparent", patchParent)]).status == 200)
        let deleteParent = "01-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-00-future"
        #expect(try client.request("DELETE", "/tasks/\(id)", headers: [("traceparent", deleteParent), ("tracestate", "Bad=1")]).status == 204)
        let rows = try api.database.connect().query("SELECT event_type, headers::text AS headers FROM outbox ORDER BY id")
            .map { "\(try $0.require(String.self, "event_type")) \(try $0.require(String.self, "headers"))" }
        #expect(rows == [
            "task.created {}",
            #"task.updated {"traceparent": "\#(patchParent)"}"#,
            #"task.completed {"traceparent": "\#(patchParent)"}"#,
            #"task.deleted {"traceparent": "\#(deleteParent)"}"#,
        ])
    }

    /// Two `traceparent` lines are ambiguous: neither is stored, and the request still succeeds.
    @Test func twoTraceparentLinesStoreNothing() throws {
        let api = try APIFixture(parts: [.api])
        let response = try api.client().json("POST", "/tasks", #"{"title":"twice"}"#,
                                              headers: [("traceparent", Self.parent), ("traceparent", Self.parent), ("tracestate", "rojo=1")])
        #expect(response.status == 201)
        #expect(try api.database.scalar("SELECT headers::text FROM outbox", as: String.self) == "{}")
    }
}
