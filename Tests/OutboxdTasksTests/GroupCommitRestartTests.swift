import Foundation
import OutboxdCore
import OutboxdDaemon
import OutboxdPostgres
import OutboxdTestSupport
import Testing

/// Issue #25: PostgreSQL crashes (`immediate`) while a batch of queued creates is in flight (its
/// statement sent, waiting on a lock). Every request is answered: 503 with Retry-After when the
/// server stays down past the retries, 201 when it is back in time; no task or event is written
/// twice, and each 201 names a task that is there with its event.
@Suite struct GroupCommitRestartTests {
    /// An `api` daemon on `cluster` whose group commit has one writer and `retries`.
    func daemon(_ cluster: TestCluster, retries: Int) throws -> Daemon {
        var configuration = Configuration()
        configuration.database.conninfo = cluster.url
        configuration.database.maxConnections = 4
        configuration.database.connectTimeout = .seconds(2)
        configuration.http.port = 0
        configuration.migrationsDirectory = TestEnvironment.migrationsDirectory
        configuration.shutdownTimeout = .seconds(10)
        configuration.groupCommit.writers = 1
        configuration.groupCommit.retries = retries
        let daemon = Daemon(configuration: configuration, parts: [.api])
        try daemon.start(migrate: true)
        return daemon
    }

    /// Sends `count` creates titled `prefix n` from a thread of their own; returns the collected
    /// answers once the daemon shows them all waiting for their commit.
    func queueCreates(_ count: Int, prefix: String, port: Int) throws -> (Collected<HTTPTestResponse>, Collected<String>) {
        let responses = Collected<HTTPTestResponse>(), failures = Collected<String>()
        Thread {
            concurrently(count) { n in
                do { responses.add(try HTTPTestClient(port: port).json("POST", "/tasks", #"{"title":"\#(prefix) \#(n)"}"#)) } catch { failures.add("\(error)") }
            }
        }.start()
        let metrics = try HTTPTestClient(port: port)
        try waitUntil("\(count) creates wait for their commit") {
            let scrape = try PrometheusScrape(try metrics.request("GET", "/metrics").text)
            return scrape.value("outboxd_http_deferred_requests", ["listener": "api"]) == Double(count)
        }
        return (responses, failures)
    }

    func counts(_ cluster: TestCluster, prefix: String) throws -> (tasks: Int, outbox: Int, titles: Int) {
        let connection = try PQConnection(conninfo: cluster.url)
        defer { connection.close() }
        let row = try #require(try connection.query("""
            SELECT (SELECT count(*) FROM tasks WHERE title LIKE $1)::int AS tasks,
                   (SELECT count(*) FROM outbox WHERE payload->'task'->>'title' LIKE $1)::int AS outbox,
                   (SELECT count(DISTINCT title) FROM tasks WHERE title LIKE $1)::int AS titles
            """, [prefix + " %"]).first)
        return (try row.require(Int.self, "tasks"), try row.require(Int.self, "outbox"), try row.require(Int.self, "titles"))
    }

    /// Blocks every INSERT into tasks until the server goes down (the holder's session dies with it).
    func lockTasks(_ cluster: TestCluster) throws -> PQConnection {
        let holder = try PQConnection(conninfo: cluster.url)
        try holder.executeScript("BEGIN; LOCK TABLE tasks IN SHARE MODE")
        return holder
    }

    @Test func aRestartPastTheRetriesAnswers503AndWritesNothing() throws {
        let cluster = try TestCluster()
        let daemon = try daemon(cluster, retries: 2)
        defer { daemon.stop() }
        let holder = try lockTasks(cluster)
        defer { holder.close() }
        let (responses, failures) = try queueCreates(20, prefix: "crashed", port: daemon.httpPort)
        try cluster.stop(mode: "immediate")
        try waitUntil("every request is answered", timeout: .seconds(30)) { responses.all.count + failures.all.count == 20 }
        #expect(failures.all.isEmpty, "\(failures.all.prefix(3))")
        for response in responses.all {
            #expect(response.status == 503, "\(response.status) \(response.text)")
            #expect(response.header("Retry-After") != nil)
            #expect(!response.text.contains("127.0.0.1") && !response.text.contains("postgres"), "no database detail: \(response.text)")
        }
        try cluster.start()
        #expect(try counts(cluster, prefix: "crashed") == (0, 0, 0))
        try waitUntil("the API writes again", timeout: .seconds(30)) {
            try HTTPTestClient(port: daemon.httpPort).json("POST", "/tasks", #"{"title":"crashed again"}"#).status == 201
        }
        #expect(try counts(cluster, prefix: "crashed") == (1, 1, 1))
    }

    @Test func aRestartWithinTheRetriesCommitsEveryTaskOnce() throws {
        let cluster = try TestCluster()
        // 20 ms doubling 12 times: the batch is still being retried when the server is back.
        let daemon = try daemon(cluster, retries: 12)
        defer { daemon.stop() }
        let holder = try lockTasks(cluster)
        defer { holder.close() }
        let (responses, failures) = try queueCreates(20, prefix: "survived", port: daemon.httpPort)
        try cluster.stop(mode: "immediate")
        try cluster.start()
        try waitUntil("every request is answered", timeout: .seconds(60)) { responses.all.count + failures.all.count == 20 }
        #expect(failures.all.isEmpty, "\(failures.all.prefix(3))")
        #expect(responses.all.allSatisfy { $0.status == 201 }, "\(responses.all.map { "\($0.status) \($0.text)" }.prefix(3))")
        #expect(try counts(cluster, prefix: "survived") == (20, 20, 20))
        let connection = try PQConnection(conninfo: cluster.url)
        defer { connection.close() }
        for response in responses.all {
            let id = try #require(try response.json().objectValue?["id"]?.stringValue)
            let row = try #require(try connection.query("""
                SELECT count(*)::int AS n FROM outbox o JOIN tasks t ON t.id::text = o.aggregate_id
                WHERE t.id::text = $1 AND t.xmin::text = o.xmin::text
                """, [id]).first)
            #expect(try row.require(Int.self, "n") == 1, "task \(id) and its one event, committed together")
        }
    }

    /// A batch whose COMMIT succeeded but whose answer was lost with the connection (a proxy
    /// closes it after the server's ReadyForQuery): the retry finds the batch's own tasks by their
    /// ids, so each request is answered 201 created, once, with no task written twice; with an
    /// Idempotency-Key each, not as a replay of itself.
    @Test(arguments: [false, true])
    func aCommitWhoseAnswerIsLostIsAnsweredCreatedOnce(keyed: Bool) throws {
        var proxy: CommitCuttingProxy?
        let api = try APIFixture(parts: [.api]) { configuration in
            let url = URLComponents(string: configuration.database.conninfo)!
            proxy = try! CommitCuttingProxy(targetPort: url.port!)
            configuration.database.conninfo = "postgresql://\(url.user ?? "postgres")@127.0.0.1:\(proxy!.port)\(url.path)?sslmode=disable&gssencmode=disable"
            configuration.groupCommit.writers = 1
            configuration.groupCommit.window = .milliseconds(200)
        }
        let cutter = try #require(proxy)
        defer { cutter.close() }
        let logs = LogCapture()
        defer { logs.close() }
        cutter.arm(statement: keyed ? "task_insert_all_keyed" : "task_insert_all")
        let port = api.daemon.httpPort
        let responses = Collected<HTTPTestResponse>(), failures = Collected<String>()
        concurrently(10) { n in
            let headers = keyed ? [("Idempotency-Key", "lost-answer-\(n)")] : []
            do { responses.add(try HTTPTestClient(port: port).json("POST", "/tasks", #"{"title":"lost answer \#(n)"}"#, headers: headers)) } catch { failures.add("\(error)") }
        }
        #expect(failures.all.isEmpty, "\(failures.all)")
        #expect(cutter.cuts == 1, "the answer to one committed batch was lost")
        #expect(responses.all.count == 10)
        for response in responses.all {
            #expect(response.status == 201, "\(response.status) \(response.text)")
            #expect(response.header("Idempotent-Replayed") == nil, "a create answered as a replay of itself: \(response.text)")
        }
        #expect(try api.counts() == (10, 10))
        #expect(try api.database.count("tasks", where: "title LIKE 'lost answer %'") == 10)
        #expect(try api.database.scalar("SELECT count(DISTINCT title)::int FROM tasks") == 10)
        let ids = try responses.all.map { try #require(try $0.json().objectValue?["id"]?.stringValue) }
        #expect(Set(ids).count == 10)
        #expect(try api.database.count("tasks", where: "id::text = ANY($1::text[])", [ids]) == 10)
        if !keyed {
            #expect(logs.lines.contains { $0.contains("found its batch written by an attempt whose answer was lost") })
        }
    }
}
