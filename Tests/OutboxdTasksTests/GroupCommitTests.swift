import Foundation
import OutboxdCore
import OutboxdPostgres
import OutboxdTasks
import OutboxdTestSupport
import Testing

/// Group commit against the real database: shared transactions, one answer per request after
/// its commit, and an invalid row failing alone.
@Suite struct GroupCommitTests {
    func committer(_ database: TestDatabase, window: Duration, writers: Int = 1) -> (GroupCommitter, PostgresPool) {
        let pool = database.pool()
        var configuration = GroupCommitConfiguration()
        configuration.window = window
        configuration.writers = writers
        let committer = GroupCommitter(configuration: configuration, store: TaskStore(pool: pool, topic: "task-events"))
        committer.run()
        return (committer, pool)
    }

    /// Tasks created concurrently share transactions (the rows' xmin), and each task has its own
    /// task.created event whose id and payload match what its request was told.
    @Test func concurrentCreatesShareTransactions() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let (committer, pool) = committer(database, window: .milliseconds(200))
        defer { pool.close() }
        let results = Collected<(task: TaskRecord, eventID: UUID)>()
        concurrently(20) { n in
            if let created = try? committer.create(NewTask(title: "grouped \(n)", description: n % 2 == 0 ? nil : "odd")) { results.add(created) }
        }
        committer.stop()
        #expect(results.all.count == 20)
        let connection = try database.connect()
        let transactions = try connection.query("SELECT count(DISTINCT xmin::text)::int AS n FROM tasks").first?.require(Int.self, "n")
        #expect(try #require(transactions) < 20)
        // Issue #25: the metrics tell the same: one observation per transaction, 20 tasks in all.
        let sizes = try #require(committer.metrics.batchTasks.snapshot())
        #expect(sizes.count == transactions && sizes.sum == 20)
        #expect(committer.metrics.writeSeconds.snapshot()?.count == transactions)
        #expect(committer.metrics.writes.value(["committed"]) == Double(try #require(transactions)))
        for created in results.all {
            let row = try #require(try connection.query("""
                SELECT o.event_type, o.payload->'task'->>'title' AS title, o.payload->'task'->>'description' AS description,
                       o.payload->>'event_id' AS payload_event, t.xmin::text = o.xmin::text AS same_transaction
                FROM outbox o JOIN tasks t ON t.id::text = o.aggregate_id WHERE o.event_id = $1
                """, [created.eventID]).first)
            #expect(try row.require(String.self, "event_type") == "task.created")
            #expect(try row.require(String.self, "title") == created.task.title)
            #expect(try row.decode(String.self, "description") == created.task.description)
            #expect(try row.require(String.self, "payload_event") == created.eventID.lowercaseString)
            #expect(try row.require(Bool.self, "same_transaction"))
        }
        #expect(try database.count("outbox") == 20)
    }

    /// A row the database refuses (here a title over the CHECK limit, which validation would
    /// normally stop) fails its own request; the others of the batch are written.
    @Test func anInvalidRowFailsAlone() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let (committer, pool) = committer(database, window: .milliseconds(200))
        defer { pool.close() }
        let failures = Collected<String>()
        let created = Collected<UUID>()
        concurrently(10) { n in
            let title = n == 3 ? String(repeating: "x", count: 500) : "ok \(n)"
            do { created.add(try committer.create(NewTask(title: title)).task.id) } catch { failures.add("\(error)") }
        }
        committer.stop()
        #expect(failures.all.count == 1)
        #expect(failures.all.first?.contains("23514") == true)
        #expect(created.all.count == 9)
        #expect(committer.metrics.writes.value(["task_alone"]) == Double(committer.statistics.writtenAlone))
        #expect(try database.count("tasks") == 9)
        #expect(try database.count("outbox") == 9)
        #expect(try database.count("tasks", where: "char_length(title) > 200") == 0)
    }

    /// After stop, creates are written one by one instead of waiting for a writer.
    @Test func createsAfterStopAreWrittenAlone() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let (committer, pool) = committer(database, window: .zero, writers: 2)
        defer { pool.close() }
        _ = try committer.create(NewTask(title: "before"))
        committer.stop()
        let after = try committer.create(NewTask(title: "after"))
        #expect(try database.count("tasks", where: "id = $1", [after.task.id]) == 1)
        #expect(try database.count("outbox", where: "event_id = $1", [after.eventID]) == 1)
    }

    /// A committer whose pool has a short `statement_timeout`, so a batch waiting on a lock fails
    /// with 57014 (a reason of no row), and a session holding `LOCK TABLE tasks` (which blocks
    /// every INSERT into tasks) until it rolls back.
    func blocked(_ database: TestDatabase, retries: Int) throws -> (GroupCommitter, PostgresPool, PQConnection) {
        var poolConfiguration = PostgresPoolConfiguration(conninfo: database.url, maxConnections: 4)
        poolConfiguration.statementTimeout = .milliseconds(300)
        poolConfiguration.acquireTimeout = .seconds(10)
        let pool = PostgresPool(configuration: poolConfiguration)
        let holder = try database.connect()
        try holder.executeScript("BEGIN; LOCK TABLE tasks IN SHARE MODE")
        var configuration = GroupCommitConfiguration()
        configuration.window = .milliseconds(200)
        configuration.writers = 1
        configuration.retries = retries
        let committer = GroupCommitter(configuration: configuration, store: TaskStore(pool: pool, topic: "task-events"))
        committer.run()
        return (committer, pool, holder)
    }

    /// Issue #14: a batch that failed for a reason of no row (here a lock wait ending in
    /// statement_timeout) was written again task by task on the writer thread, each waiting as
    /// long, so the last request of 128 waited minutes and got a 500. Now the batch is sent again
    /// as a whole `retries` times, then every request gets `GroupCommitError.unavailable` (503),
    /// and nothing is written.
    @Test func aBatchFailingForNoRowIsRetriedWholeThenGivenUp() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let (committer, pool, holder) = try blocked(database, retries: 2)
        defer { pool.close() }
        let failures = Collected<GroupCommitError>()
        let others = Collected<String>()
        concurrently(10) { n in
            do {
                _ = try committer.create(NewTask(title: "blocked \(n)"))
                others.add("created")
            } catch let error as GroupCommitError {
                failures.add(error)
            } catch {
                others.add("\(error)")
            }
        }
        let statistics = committer.statistics
        try holder.executeScript("ROLLBACK")
        holder.close()
        committer.stop()
        #expect(others.all.isEmpty, "\(others.all)")
        #expect(failures.all.count == 10)
        #expect(failures.all.allSatisfy { $0.code == .unavailable && $0.attempts == 3 })
        #expect(failures.all.allSatisfy { "\($0.underlying)".contains("57014") })
        #expect(statistics.writtenAlone == 0, "no task was tried on its own")
        #expect(statistics.batchesGivenUp >= 1)
        #expect(statistics.transientFailures == 3 * statistics.batchesGivenUp, "three statements per batch, no more")
        #expect(committer.metrics.writes.value(["given_up"]) == Double(statistics.batchesGivenUp))
        #expect(committer.metrics.writes.value(["retried"]) == Double(statistics.transientFailures))
        #expect(committer.metrics.batchTasks.snapshot() == nil, "no transaction committed")
        #expect(try database.count("tasks") == 0)
        #expect(try database.count("outbox") == 0)
    }

    /// A lock released after the first failed attempt: the batch's retry commits all its tasks
    /// in one transaction (one xmin per batch), none written on its own.
    @Test func aBatchRetriedAfterALockWaitCommitsInOneTransaction() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let (committer, pool, holder) = try blocked(database, retries: 8)
        defer { pool.close() }
        let created = Collected<UUID>()
        let failures = Collected<String>()
        concurrently(11) { n in
            if n == 10 {
                try? waitUntil("the batch failed once on the lock") { committer.statistics.transientFailures >= 1 }
                try? holder.executeScript("ROLLBACK")
                return
            }
            do { created.add(try committer.create(NewTask(title: "retried \(n)")).task.id) } catch { failures.add("\(error)") }
        }
        holder.close()
        committer.stop()
        let statistics = committer.statistics
        #expect(failures.all.isEmpty, "\(failures.all)")
        #expect(created.all.count == 10)
        #expect(statistics.transientFailures >= 1)
        #expect(statistics.writtenAlone == 0)
        let connection = try database.connect()
        defer { connection.close() }
        let transactions = try #require(try connection.query("SELECT count(DISTINCT xmin::text)::int AS n FROM tasks").first?.require(Int.self, "n"))
        #expect(transactions == statistics.batchesWritten)
        #expect(transactions < 10)
        #expect(try database.count("tasks") == 10)
        #expect(try database.count("outbox", where: "event_type = 'task.created'") == 10)
    }

    /// Through HTTP: every request of a batch that gave up gets 503 with Retry-After and a
    /// problem+json body, and nothing is written; once the lock is gone the next POST is a 201.
    @Test func aGivenUpBatchIsA503WithRetryAfter() throws {
        let api = try APIFixture(parts: [.api]) {
            $0.database.statementTimeout = .milliseconds(300)
            $0.groupCommit.window = .milliseconds(100)
            $0.groupCommit.writers = 1
        }
        let holder = try api.database.connect()
        defer { holder.close() }
        try holder.executeScript("BEGIN; LOCK TABLE tasks IN SHARE MODE")
        let responses = Collected<HTTPTestResponse>()
        let port = api.daemon.httpPort
        concurrently(6) { n in
            if let response = try? HTTPTestClient(port: port).json("POST", "/tasks", #"{"title":"locked out \#(n)"}"#) {
                responses.add(response)
            }
        }
        try holder.executeScript("ROLLBACK")
        #expect(responses.all.count == 6)
        for response in responses.all {
            #expect(response.status == 503, "\(response.text)")
            #expect(response.header("Retry-After") == "1")
            #expect(response.header("Content-Type") == "application/problem+json")
            #expect(try response.json().objectValue?["status"]?.numberText == "503")
            #expect(!response.text.contains("57014") && !response.text.contains("127.0.0.1"), "no database detail: \(response.text)")
        }
        #expect(try api.counts() == (0, 0))
        #expect(try api.client().json("POST", "/tasks", #"{"title":"after"}"#).status == 201)
        #expect(try api.counts() == (1, 1))
    }

    /// Issue #25: a create waiting for its commit holds no HTTP worker, so one transaction takes
    /// more requests than there are workers (before, each waiting request held one of them, and a
    /// batch could not outgrow HTTP_WORKERS). Every request is still answered 201 after the commit
    /// that holds its task and event.
    @Test func aBatchLargerThanTheHTTPWorkersIsOneTransaction() throws {
        let api = try APIFixture(parts: [.api]) {
            $0.http.workers = 2
            $0.groupCommit.writers = 1
            $0.groupCommit.window = .milliseconds(300)
        }
        let port = api.daemon.httpPort
        let responses = Collected<HTTPTestResponse>()
        concurrently(24) { n in
            if let response = try? HTTPTestClient(port: port).json("POST", "/tasks", #"{"title":"many \#(n)"}"#) { responses.add(response) }
        }
        #expect(responses.all.count == 24)
        #expect(responses.all.allSatisfy { $0.status == 201 }, "\(responses.all.map(\.status))")
        #expect(try api.counts() == (24, 24))
        let largest = try #require(try api.database.connect().query("""
            SELECT max(n)::int AS n FROM (SELECT count(*) AS n FROM tasks GROUP BY xmin::text) t
            """).first?.require(Int.self, "n"))
        #expect(largest >= 8, "the largest transaction held \(largest) tasks, with 2 HTTP workers")
        // Each answer names a task that is there, with its event in the same transaction.
        for response in responses.all {
            let id = try #require(try response.json().objectValue?["id"]?.stringValue)
            #expect(try api.database.count("outbox o JOIN tasks t ON t.id::text = o.aggregate_id", where: "t.id::text = $1 AND t.xmin::text = o.xmin::text", [id]) == 1)
        }
    }

    /// Issue #25 (G8): a stop with 200 creates queued behind a writer that waits (on a lock)
    /// answers every one of them: each 201 names a task that is there with its event, each other
    /// answer wrote nothing, and no task is there that no answer named.
    @Test func aStopWith200CreatesQueuedAnswersEveryOne() throws {
        let api = try APIFixture(parts: [.api]) {
            $0.groupCommit.writers = 1
            $0.http.maxConnections = 400
        }
        let holder = try api.database.connect()
        defer { holder.close() }
        try holder.executeScript("BEGIN; LOCK TABLE tasks IN SHARE MODE")
        let port = api.daemon.httpPort
        let responses = Collected<HTTPTestResponse>()
        let failures = Collected<String>()
        let clients = Thread {
            concurrently(200) { n in
                do { responses.add(try HTTPTestClient(port: port).json("POST", "/tasks", #"{"title":"queued \#(n)"}"#)) } catch { failures.add("\(error)") }
            }
        }
        clients.start()
        let metrics = try api.client()
        try waitUntil("200 creates wait for their commit") {
            let scrape = try PrometheusScrape(try metrics.request("GET", "/metrics").text)
            return scrape.value("outboxd_http_deferred_requests", ["listener": "api"]) == 200
        }
        let logs = LogCapture()
        defer { logs.close() }
        let daemon = api.daemon
        let stopper = Thread { daemon.stop() }
        stopper.start()
        try waitUntil("the daemon is stopping") { logs.lines.contains { $0.contains("outboxd: stopping") } }
        try holder.executeScript("ROLLBACK")
        try waitUntil("every request is answered", timeout: .seconds(30)) { responses.all.count + failures.all.count == 200 }
        #expect(failures.all.isEmpty, "\(failures.all.prefix(3))")
        let created = responses.all.filter { $0.status == 201 }
        #expect(responses.all.allSatisfy { $0.status == 201 || $0.status == 503 }, "\(Set(responses.all.map(\.status)))")
        #expect(created.count >= 1)
        let ids = try created.map { try #require(try $0.json().objectValue?["id"]?.stringValue) }
        #expect(try api.counts() == (created.count, created.count))
        #expect(try api.database.count("tasks", where: "id::text = ANY($1::text[])", [ids]) == created.count)
    }

    /// Issue #25: creates with an Idempotency-Key go through group commit too, with the semantics
    /// of one at a time: a new key is written in the shared transaction; a key used before, or by
    /// an earlier request of the same batch, replays that task for the same body and is refused
    /// (keyReused) for another; every task and event is there once.
    @Test func keyedCreatesShareTheBatchAndKeepTheirSemantics() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let (committer, pool) = committer(database, window: .milliseconds(300))
        defer { pool.close() }
        let earlier = try committer.create(NewTask(title: "old"), idempotencyKey: "old")
        guard case .created(let old, _) = earlier else { Issue.record("\(earlier)"); return }
        let requests: [(key: String?, title: String)] = (0..<6).map { ("new-\($0)", "new \($0)") }
            + [("twice", "same"), ("twice", "same"), ("clash", "first"), ("clash", "second"), ("old", "old"), ("old", "changed")]
            + (0..<4).map { (nil, "plain \($0)") }
        let results = Collected<(Int, TaskStore.CreateResult)>()
        let failures = Collected<String>()
        concurrently(requests.count) { n in
            do { results.add((n, try committer.create(NewTask(title: requests[n].title), idempotencyKey: requests[n].key))) } catch { failures.add("\(error)") }
        }
        committer.stop()
        #expect(failures.all.isEmpty, "\(failures.all)")
        var byKey: [String: [TaskStore.CreateResult]] = [:]
        for (n, result) in results.all {
            if let key = requests[n].key { byKey[key, default: []].append(result) } else {
                guard case .created = result else { Issue.record("plain \(n): \(result)"); continue }
            }
        }
        for n in 0..<6 {
            guard case .created(let task, _)? = byKey["new-\(n)"]?.first, byKey["new-\(n)"]?.count == 1 else { Issue.record("new-\(n): \(byKey["new-\(n)"] ?? [])"); continue }
            #expect(task.title == "new \(n)")
        }
        let twice = byKey["twice"] ?? []
        let twiceCreated = twice.compactMap { if case .created(let task, _) = $0 { task } else { nil } }
        let twiceReplayed = twice.compactMap { if case .replayed(let task) = $0 { task } else { nil } }
        #expect(twiceCreated.count == 1 && twiceReplayed.count == 1, "\(twice)")
        #expect(twiceCreated.first?.id == twiceReplayed.first?.id)
        let clash = byKey["clash"] ?? []
        #expect(clash.filter { if case .created = $0 { true } else { false } }.count == 1, "\(clash)")
        #expect(clash.filter { $0 == .keyReused }.count == 1, "\(clash)")
        let oldResults = byKey["old"] ?? []
        #expect(oldResults.contains(.replayed(old)) || oldResults.contains { if case .replayed(let task) = $0 { task.id == old.id } else { false } }, "\(oldResults)")
        #expect(oldResults.contains(.keyReused), "\(oldResults)")
        // 1 + 6 new + twice + clash + 4 plain, each with its one event.
        #expect(try database.count("tasks") == 13)
        #expect(try database.count("outbox") == 13)
        #expect(try database.count("tasks", where: "idempotency_key IS NOT NULL") == 9)
        let largest = try #require(try database.connect().query("""
            SELECT max(n)::int AS n FROM (SELECT count(*) AS n FROM tasks WHERE idempotency_key IS NOT NULL GROUP BY xmin::text) t
            """).first?.require(Int.self, "n"))
        #expect(largest >= 2, "keyed tasks share a transaction: the largest held \(largest)")
        #expect(try database.count("outbox o JOIN tasks t ON t.id::text = o.aggregate_id", where: "t.xmin::text = o.xmin::text") == 13)
    }

    /// Issue #25: a client that hangs up while its create waits for the commit still has its task
    /// committed, once, with its event; with an Idempotency-Key, its retry replays that task.
    @Test(arguments: [nil, "hang-up-key-1"])
    func aClientThatHangsUpWhileItsCreateWaitsHasItCommittedOnce(_ key: String?) throws {
        let api = try APIFixture(parts: [.api]) { $0.groupCommit.writers = 1 }
        let holder = try api.database.connect()
        defer { holder.close() }
        try holder.executeScript("BEGIN; LOCK TABLE tasks IN SHARE MODE")
        let body = #"{"title":"hung up"}"#
        let keyHeader = key.map { "Idempotency-Key: \($0)\r\n" } ?? ""
        let metrics = try api.client()
        do {
            let client = try HTTPTestClient(port: api.daemon.httpPort)
            try client.send(Array("POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\(keyHeader)Content-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8))
            // Waiting for its group commit, with or without a key.
            try waitUntil("the create waits for its commit") {
                let scrape = try PrometheusScrape(try metrics.request("GET", "/metrics").text)
                return scrape.value("outboxd_http_deferred_requests", ["listener": "api"]) == 1
            }
        } // the client hangs up here
        try holder.executeScript("ROLLBACK")
        try waitUntil("the task is committed") { try api.counts() == (1, 1) }
        let retry = try api.client().json("POST", "/tasks", body, headers: key.map { [("Idempotency-Key", $0)] } ?? [])
        if key != nil {
            #expect(retry.status == 201 && retry.header("Idempotent-Replayed") == "true", "\(retry.status) \(retry.text)")
            #expect(try api.counts() == (1, 1))
            #expect(try api.database.count("tasks", where: "id::text = $1", [try retry.json().objectValue?["id"]?.stringValue]) == 1)
        } else {
            #expect(retry.status == 201)
            #expect(try api.counts() == (2, 2))
        }
    }
}
