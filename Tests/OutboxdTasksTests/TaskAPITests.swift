import Foundation
import OutboxdCore
import OutboxdKafka
import OutboxdPostgres
import OutboxdTestSupport
import OutboxdTasks
import Testing

@Suite struct TaskAPITests {
    @Test func createWritesTaskAndEventInOneTransaction() throws {
        let api = try APIFixture()
        let response = try api.client().json("POST", "/tasks", #"{"title":"Buy milk","due_at":"2030-05-01T09:30:00+02:00"}"#)
        #expect(response.status == 201)
        #expect(response.header("Content-Type") == "application/json")
        let id = try #require(try response.string("id"))
        #expect(response.header("Location") == "/tasks/\(id)")
        #expect(response.header("ETag") == "\"1\"")
        #expect(try response.string("title") == "Buy milk")
        #expect(try response.string("status") == "todo")
        #expect(try response.string("due_at") == "2030-05-01T07:30:00.000000Z")

        #expect(try api.counts() == (1, 1))
        let connection = try api.database.connect()
        let row = try #require(try connection.query("""
            SELECT aggregate_type, aggregate_id, event_type, topic, event_id::text AS event_id,
                   payload->>'event_id' AS payload_event_id, payload->>'event_type' AS payload_type,
                   payload->'task'->>'id' AS payload_task, payload->'task'->>'title' AS payload_title
            FROM outbox
            """).first)
        #expect(try row.require(String.self, "aggregate_type") == "task")
        #expect(try row.require(String.self, "aggregate_id") == id)
        #expect(try row.require(String.self, "event_type") == "task.created")
        #expect(try row.require(String.self, "topic") == "task-events")
        #expect(try row.require(String.self, "payload_event_id") == row.require(String.self, "event_id"))
        #expect(try row.require(String.self, "payload_type") == "task.created")
        #expect(try row.require(String.self, "payload_task") == id)
        #expect(try row.require(String.self, "payload_title") == "Buy milk")
    }

    /// G1: when the outbox insert fails, the task is not written either.
    @Test func failingOutboxInsertLeavesNoTask() throws {
        let api = try APIFixture()
        try api.database.connect().executeScript("""
            CREATE FUNCTION refuse_outbox() RETURNS trigger LANGUAGE plpgsql AS
              $$ BEGIN RAISE EXCEPTION 'outbox refused by test'; END $$;
            CREATE TRIGGER refuse BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse_outbox();
            """)
        let response = try api.client().json("POST", "/tasks", #"{"title":"doomed"}"#)
        #expect(response.status == 500)
        #expect(response.header("Content-Type") == "application/problem+json")
        #expect(!response.text.contains("outbox refused"), "the database message must not leak")
        #expect(try api.counts() == (0, 0))
    }

    @Test func concurrentCreatesGiveOneEventPerTask() throws {
        let api = try APIFixture()
        let connections = 16, perConnection = 64
        let failures = Collected<String>()
        let port = api.daemon.httpPort
        concurrently(connections) { worker in
            do {
                let client = try HTTPTestClient(port: port)
                for n in 0..<perConnection {
                    let response = try client.json("POST", "/tasks", #"{"title":"t\#(worker)-\#(n)"}"#)
                    if response.status != 201 { failures.add("status \(response.status): \(response.text)") }
                }
            } catch {
                failures.add("\(error)")
            }
        }
        #expect(failures.all.isEmpty, "\(failures.all.prefix(3))")
        #expect(try api.counts() == (connections * perConnection, connections * perConnection))
        #expect(try api.database.count("tasks t", where: "NOT EXISTS (SELECT 1 FROM outbox o WHERE o.aggregate_id = t.id::text)") == 0)
    }

    @Test func idempotentRetryReturnsTheFirstResultAndWritesNothing() throws {
        let api = try APIFixture()
        let client = try api.client()
        let key = [("Idempotency-Key", "order-42")]
        let first = try client.json("POST", "/tasks", #"{"title":"once","status":"todo"}"#, headers: key)
        let retry = try client.json("POST", "/tasks", #"{"status":"todo","title":"once"}"#, headers: key)
        #expect(first.status == 201)
        #expect(retry.status == 201)
        #expect(retry.header("Idempotent-Replayed") == "true")
        #expect(try retry.string("id") == first.string("id"))
        #expect(retry.body == first.body)
        #expect(try api.counts() == (1, 1))

        let reused = try client.json("POST", "/tasks", #"{"title":"something else"}"#, headers: key)
        #expect(reused.status == 422)
        #expect(reused.text.contains("Idempotency-Key"))
        #expect(try api.counts() == (1, 1))

        let other = try client.json("POST", "/tasks", #"{"title":"once"}"#, headers: [("Idempotency-Key", "order-43")])
        #expect(other.status == 201)
        #expect(try api.counts() == (2, 2))
    }

    @Test func concurrentRetriesWithOneKeyCreateOneTask() throws {
        let api = try APIFixture()
        let ids = Collected<String>()
        let port = api.daemon.httpPort
        concurrently(8) { _ in
            guard let client = try? HTTPTestClient(port: port),
                  let response = try? client.json("POST", "/tasks", #"{"title":"race"}"#, headers: [("Idempotency-Key", "same")]),
                  response.status == 201, let id = try? response.string("id") else {
                ids.add("failed")
                return
            }
            ids.add(id)
        }
        #expect(Set(ids.all).count == 1)
        #expect(!ids.all.contains("failed"))
        #expect(try api.counts() == (1, 1))
    }

    @Test func getListPatchAndDeleteEmitTheirEvents() throws {
        let api = try APIFixture()
        let client = try api.client()
        let created = try client.json("POST", "/tasks", #"{"title":"draft","description":"d"}"#)
        let id = try #require(try created.string("id"))

        let fetched = try client.request("GET", "/tasks/\(id)")
        #expect(fetched.status == 200)
        #expect(fetched.body == created.body)
        #expect(fetched.header("ETag") == "\"1\"")

        let renamed = try client.json("PATCH", "/tasks/\(id)", #"{"title":"final","description":null}"#, headers: [("If-Match", "\"1\"")])
        #expect(renamed.status == 200)
        #expect(try renamed.string("title") == "final")
        #expect(try renamed.json().objectValue?["description"] == .null)
        #expect(try renamed.json().objectValue?["version"]?.intValue == 2)

        let stale = try client.json("PATCH", "/tasks/\(id)", #"{"title":"lost update"}"#, headers: [("If-Match", "\"1\"")])
        #expect(stale.status == 412)
        #expect(stale.header("ETag") == "\"2\"")
        // Versions beyond 32 bits are ETags no task has (the column is an integer): 412, not a 500.
        for version in ["2147483648", "9223372036854775807"] {
            let beyond = try client.json("PATCH", "/tasks/\(id)", #"{"title":"beyond"}"#, headers: [("If-Match", "\"\(version)\"")])
            #expect(beyond.status == 412, "If-Match \(version)")
            #expect(beyond.header("ETag") == "\"2\"")
            #expect(try client.request("DELETE", "/tasks/\(id)", headers: [("If-Match", "\"\(version)\"")]).status == 412)
        }
        #expect(try client.json("PATCH", "/tasks/\(id)", #"{"title":"beyond"}"#, headers: [("If-Match", "\"9223372036854775808\"")]).status == 400)
        #expect(try client.request("GET", "/tasks/\(id)").json().objectValue?["version"]?.intValue == 2)

        let done = try client.json("PATCH", "/tasks/\(id)", #"{"status":"done"}"#)
        #expect(done.status == 200)
        let again = try client.json("PATCH", "/tasks/\(id)", #"{"status":"done"}"#)
        #expect(again.status == 200)

        let deleted = try client.request("DELETE", "/tasks/\(id)")
        #expect(deleted.status == 204)
        #expect(try client.request("GET", "/tasks/\(id)").status == 404)
        #expect(try client.request("DELETE", "/tasks/\(id)").status == 404)

        let connection = try api.database.connect()
        let events = try connection.query("SELECT event_type, payload->'task'->>'title' AS title FROM outbox WHERE aggregate_id = $1 ORDER BY id", [id])
        #expect(try events.map { try $0.require(String.self, "event_type") } == [
            "task.created", "task.updated", "task.updated", "task.completed", "task.updated", "task.deleted",
        ])
        #expect(try events.map { try $0.require(String.self, "title") } == ["draft", "final", "final", "final", "final", "final"])
        #expect(try api.counts() == (0, 6))
    }

    /// Issue #28: `If-Match: W/"1"` matched version 1. If-Match uses the strong comparison (RFC
    /// 9110 §13.1.1): a weak ETag never matches, `*` matches any version, a list matches when one
    /// of its strong ETags does.
    @Test func ifMatchUsesTheStrongComparison() throws {
        let api = try APIFixture(parts: [.api])
        let client = try api.client()
        let id = try #require(try client.json("POST", "/tasks", #"{"title":"v1"}"#).string("id"))
        for weak in [#"W/"1""#, #"W/"1", W/"2""#, #"W/"2", "7""#] {
            let patch = try client.json("PATCH", "/tasks/\(id)", #"{"title":"weak"}"#, headers: [("If-Match", weak)])
            #expect(patch.status == 412, "If-Match: \(weak)")
            #expect(patch.header("ETag") == "\"1\"")
            #expect(try client.request("DELETE", "/tasks/\(id)", headers: [("If-Match", weak)]).status == 412, "If-Match: \(weak)")
        }
        #expect(try api.counts() == (1, 1), "no weak If-Match changed the task")
        #expect(try client.request("GET", "/tasks/\(id)").string("title") == "v1")

        let listed = try client.json("PATCH", "/tasks/\(id)", #"{"title":"v2"}"#, headers: [("If-Match", #"W/"1", "5", "1""#)])
        #expect(listed.status == 200)
        #expect(listed.header("ETag") == "\"2\"")
        let star = try client.json("PATCH", "/tasks/\(id)", #"{"title":"v3"}"#, headers: [("If-Match", "*")])
        #expect(star.status == 200)
        #expect(star.header("ETag") == "\"3\"")
        #expect(try client.json("PATCH", "/tasks/\(id)", #"{"title":"bad"}"#, headers: [("If-Match", #"*, "3""#)]).status == 400)
        #expect(try client.request("DELETE", "/tasks/\(id)", headers: [("If-Match", #"W/"3""#)]).status == 412)
        #expect(try client.request("DELETE", "/tasks/\(id)", headers: [("If-Match", #""2", "3""#)]).status == 204)
        #expect(try api.counts() == (0, 4))

        let unknown = UUID().lowercaseString
        #expect(try client.request("DELETE", "/tasks/\(unknown)", headers: [("If-Match", #"W/"1""#)]).status == 404,
                "a precondition is not evaluated for a task that does not exist (RFC 9110 §13.2.1)")
        #expect(try client.request("DELETE", "/tasks/\(unknown)", headers: [("If-Match", "*")]).status == 404)
    }

    @Test func listPagesThroughEveryTaskOnceInCreationOrder() throws {
        let api = try APIFixture()
        let client = try api.client()
        var created: [String] = []
        for n in 0..<25 {
            let status = n % 5 == 0 ? "done" : "todo"
            created.append(try #require(try client.json("POST", "/tasks", #"{"title":"t\#(n)","status":"\#(status)"}"#).string("id")))
        }
        var seen: [String] = []
        var path = "/tasks?limit=10"
        while true {
            let page = try client.request("GET", path)
            #expect(page.status == 200)
            let object = try #require(try page.json().objectValue)
            seen += try #require(object["items"]?.arrayValue).compactMap { $0.objectValue?["id"]?.stringValue }
            guard let next = object["next_after"]?.stringValue else { break }
            path = "/tasks?limit=10&after=\(next)"
        }
        #expect(seen == created)

        let done = try client.request("GET", "/tasks?status=done&limit=100").json().objectValue?["items"]?.arrayValue ?? []
        #expect(done.compactMap { $0.objectValue?["id"]?.stringValue } == stride(from: 0, to: 25, by: 5).map { created[$0] })
    }

    /// The whole path: POST → outbox → relay → Kafka, read back at the address /readyz reports.
    @Test func createdTaskEventReachesKafka() throws {
        let api = try APIFixture()
        let client = try api.client()
        let created = try client.json("POST", "/tasks", #"{"title":"publish me"}"#)
        let id = try #require(try created.string("id"))
        let bootstrap = try #require(try client.request("GET", "/readyz").json().objectValue?["components"]?
            .objectValue?["kafka"]?.objectValue?["bootstrap_servers"]?.stringValue)
        let consumer = try RDKafkaConsumer(configuration: KafkaClientConfiguration(bootstrapServers: bootstrap),
                                           groupID: "test-\(UUID())", topics: ["task-events"])
        let records = try consumer.read(count: 1, timeout: .seconds(30))
        #expect(records.count == 1)
        #expect(records.first.map { String(decoding: $0.key, as: UTF8.self) } == id)
        #expect(records.first?.header("ce_type") == "task.created")
        let eventID = try api.database.scalar("SELECT event_id::text FROM outbox", as: String.self)
        #expect(records.first?.header("ce_id") == eventID)
        try waitUntilPublished(api)
    }

    func waitUntilPublished(_ api: APIFixture) throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while try api.database.count("outbox", where: "published_at IS NULL") > 0 {
            try #require(ContinuousClock.now < deadline, "outbox row never marked published")
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    @Test func healthAndReadiness() throws {
        let api = try APIFixture()
        let client = try api.client()
        let health = try client.request("GET", "/healthz")
        #expect(health.status == 200)
        let ready = try client.request("GET", "/readyz")
        #expect(ready.status == 200)
        let components = try #require(try ready.json().objectValue?["components"]?.objectValue)
        #expect(components["database"]?.objectValue?["status"] == "up")
        #expect(components["kafka"]?.objectValue?["embedded"] == true)
        #expect(components["kafka"]?.objectValue?["librdkafka"]?.stringValue == RDKafkaLibrary.version)
        #expect(components["relay"]?.objectValue?["status"] == "up")
        #expect(try client.request("HEAD", "/healthz").status == 200)
    }
}

/// `Prefer: wait=N`: the response waits for the delivery report, or falls back to 202.
@Suite struct PreferWaitTests {
    @Test func waitNamesThePartitionAndOffset() throws {
        let api = try APIFixture()
        let response = try api.client().json("POST", "/tasks", #"{"title":"acked"}"#, headers: [("Prefer", "wait=10")])
        #expect(response.status == 201, "\(response.text)")
        #expect(response.header("Preference-Applied") == "wait=10")
        let event = try #require(try response.json().objectValue?["event"]?.objectValue)
        let connection = try api.database.connect()
        let row = try #require(try connection.query("SELECT event_id::text AS id, kafka_partition, kafka_offset FROM outbox").first)
        #expect(event["id"]?.stringValue == (try row.require(String.self, "id")))
        #expect(event["partition"]?.intValue == (try row.require(Int.self, "kafka_partition")))
        #expect(event["offset"]?.intValue == (try row.require(Int.self, "kafka_offset")))
    }

    @Test func brokersDownGive202WithTheEventSafeInTheOutbox() throws {
        let kafka = try RDKafkaMockCluster(brokers: 3, topics: [("task-events", 2)])
        let api = try APIFixture { $0.kafka.bootstrapServers = kafka.bootstrapServers }
        kafka.setAllBrokers(up: false)
        let clock = ContinuousClock()
        let started = clock.now
        let response = try api.client().json("POST", "/tasks", #"{"title":"not yet"}"#, headers: [("Prefer", "wait=1")])
        #expect(response.status == 202, "\(response.text)")
        #expect(clock.now - started >= .seconds(1))
        #expect(response.header("Location")?.hasPrefix("/tasks/") == true)
        #expect(try api.counts() == (1, 1))
        #expect(try api.database.count("outbox", where: "published_at IS NULL") == 1)
        kafka.setAllBrokers(up: true)
    }

    /// Issue #14: each waiting request used to hold a thread and poll PostgreSQL every 10 ms through
    /// the pool, so enough of them starved every other request, and a wait could outlive the stop
    /// timeout. Now 20 waits hold none of the 2 workers, other requests are answered meanwhile,
    /// and stopping answers every wait at once with 202.
    @Test func waitingRequestsHoldNoWorkerAndStopAnswersThem() throws {
        // No relay in this process or any other: every wait lasts its 60 s unless stop ends it.
        let api = try APIFixture(parts: [.api]) {
            $0.http.workers = 2
            $0.shutdownTimeout = .seconds(30)
        }
        let post = Array("POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nPrefer: wait=60\r\nContent-Length: 13\r\n\r\n{\"title\":\"w\"}".utf8)
        var waiting: [HTTPTestClient] = []
        for _ in 0..<20 {
            let client = try HTTPTestClient(port: api.daemon.httpPort, timeoutSeconds: 20)
            try client.send(post)
            waiting.append(client)
        }
        let other = try HTTPTestClient(port: api.daemon.httpPort, timeoutSeconds: 10)
        try waitUntil("20 requests wait for their delivery", timeout: .seconds(20)) {
            try PrometheusScrape(try other.request("GET", "/metrics").text).value("outboxd_http_deferred_requests", ["listener": "api"]) == 20
        }
        #expect(try other.request("GET", "/tasks").status == 200)
        #expect(try other.json("POST", "/tasks", #"{"title":"meanwhile"}"#).status == 201)
        #expect(try api.counts() == (21, 21))

        let stopped = DispatchSemaphore(value: 0)
        let daemon = api.daemon
        Thread.detachNewThread {
            daemon.stop()
            stopped.signal()
        }
        for client in waiting {
            let response = try client.readResponse()
            #expect(response.status == 202, "\(response.text)")
            #expect(response.header("Preference-Applied") == "wait=60")
        }
        #expect(stopped.wait(timeout: .now() + 20) == .success, "stop was held by the waiting requests")
        #expect(try api.database.count("outbox", where: "published_at IS NULL") == 21)
    }

    @Test(arguments: [("wait=5", 5), ("respond-async, wait=3", 3), ("wait=999", 60), ("wait=x", nil), (nil, nil)] as [(String?, Int?)])
    func preferHeaderParsing(header: String?, seconds: Int?) {
        #expect(PreferWait.seconds(from: header) == seconds)
    }
}
