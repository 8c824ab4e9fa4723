import Foundation
import OutboxdCore
import OutboxdPostgres

/// The relay's SQL: claim due rows, record deliveries and failures. Runs on the relay's own
/// connection, inside the relay's transaction.
struct OutboxStore {
    let connection: PQConnection

    /// Sends BEGIN and the claim in one flight without waiting; `finishClaim` reads the rows: the
    /// due rows of the owned shards in id order, locked for this transaction. A row waits while an
    /// earlier row of its key is still pending and backing off, so a retry never lets a later event
    /// overtake (G3). Payloads come only for the rows whose running size stays within `bytes`
    /// (`RELAY_BATCH_BYTES`); the rows past it are returned without one, locked, so that the
    /// relay holds their keys (`OutboxRow.Problem.deferred`) and a lone row larger than `bytes`
    /// is parked (`.tooLarge`) without ever being read.
    func startClaim(limit: Int, bytes: Int, shards: Int, owned: [Int]) throws -> PendingPipeline {
        try connection.startPipeline([.command("BEGIN"), .prepared(Self.claim, [limit, shards, owned, bytes])])
    }

    func finishClaim(_ pending: PendingPipeline, format: RecordFormat, bytes: Int) throws -> [OutboxRow] {
        try OutboxRow.rows(of: connection.finishPipeline(pending)[1], format: format, bytes: bytes)
    }

    /// Sends, without waiting, what records a batch: partition, offset and report time
    /// (`published_at`) of delivered rows (or their deletion when history is not kept), failures
    /// (attempts+1, the error, the next attempt time; parked at `maxAttempts`, or at once with
    /// `park`), the queue rows of every other claimed row put back (`claimed` are all the
    /// claim's ids), the per-topic counts, and COMMIT, in one flight; `finishRecord` reads the results.
    func startRecord(claimed: [Int64], delivered: [DeliveredRow], keep: Bool,
                     failed: [(id: Int64, error: String, delayMilliseconds: Int64, park: Bool)], maxAttempts: Int,
                     publishedPerTopic: [String: Int]) throws -> PendingPipeline {
        var statements: [PipelinedStatement] = []
        if !delivered.isEmpty {
            statements.append(keep
                ? .prepared(Self.markPublished, [delivered.map(\.id), delivered.map(\.partition), delivered.map(\.offset),
                                                 delivered.map(\.reportedAt.microsecondsSinceEpoch), PostgresNullableArray(delivered.map(\.routedTopic))])
                : .prepared(Self.deletePublished, [delivered.map(\.id)]))
        }
        if !failed.isEmpty {
            statements.append(.prepared(Self.markFailed, [failed.map(\.id), failed.map(\.error), failed.map(\.delayMilliseconds), maxAttempts,
                                                               failed.map(\.park)]))
        }
        if claimed.count > delivered.count {
            let deliveredIDs = Set(delivered.map(\.id))
            statements.append(.prepared(Self.requeue, [claimed.filter { !deliveredIDs.contains($0) }]))
        }
        if !publishedPerTopic.isEmpty { statements.append(.prepared(Self.countPublished, Self.countParameters(publishedPerTopic))) }
        statements.append(.command("COMMIT"))
        return try connection.startPipeline(statements)
    }

    func finishRecord(_ pending: PendingPipeline) throws {
        _ = try connection.finishPipeline(pending)
    }

    /// Deletes up to `limit` rows published before `retention` ago among the oldest `window`
    /// rows not queued; returns how many.
    func purge(olderThan retention: Duration, limit: Int, window: Int) throws -> Int {
        try connection.query(Self.purge, [retention.wholeMilliseconds, limit, window]).affectedRows
    }

    /// Adds to the published counts outside a batch (`PublishedCounts`: the relay is idle).
    func countPublished(_ perTopic: [String: Int]) throws {
        _ = try connection.query(Self.countPublished, Self.countParameters(perTopic))
    }

    private static func countParameters(_ perTopic: [String: Int]) -> [(any PostgresParameter)?] {
        let topics = perTopic.keys.sorted()
        return [topics, topics.map { perTopic[$0]! }]
    }

    /// Deletes the published counts older than an hour.
    func expireCounts() throws {
        _ = try connection.query(Self.expireCounts)
    }

    /// Tries to own the shards not in `owned`; returns those now held by this session.
    func acquire(shards: Int, owned: [Int]) throws -> [Int] {
        var held = owned
        for shard in 0..<shards where !owned.contains(shard) {
            if try connection.query(Self.tryLock, [shard]).first?.require(Bool.self, "locked") == true {
                held.append(shard)
            }
        }
        return held.sorted()
    }

    /// Prepared: its plan reads two partial indexes of the queue (migration 0014), the rows not
    /// parked in id order and the rows backing off, so no table size or statistics make another
    /// plan cheaper, and a generic plan made on an empty outbox stays right as it grows. Before
    /// 0007, after an autovacuum ANALYZE that found few pending rows, the backing-off check read
    /// every pending row for each claimed row: at 2k tasks/s claims grew from 25 ms to 3.6 s.
    ///
    /// The rows to take are chosen once (`ARRAY(…)`, an InitPlan), then deleted by id. As
    /// `id IN (…)`, statistics that took the queue for empty (analyzed between bursts) made the
    /// delete a nested loop over the queue that ran the choice again for every queued row: in
    /// bench/latency.sh a claim took 1,293 rows against a limit of 500, read 5.3M buffers, and one
    /// ran into the statement timeout (`OutboxClaimPlanTests`).
    ///
    /// It deletes the queue rows it takes (`SKIP LOCKED`: the other lane claims past the rows this
    /// one took and has not committed); the record puts back, in the same transaction, every
    /// claimed row it did not deliver (`requeue`), and a rollback puts back all. A
    /// queue row without its outbox row is taken and dropped.
    ///
    /// The statements after it join on or scan `outbox` and are planned on each run
    /// (`PostgresStatement.plannedEachRun`): a cached generic plan keeps the table size it was made
    /// for, and one made on a young outbox scanned all the kept history to mark 10 rows (1 → 5 ms
    /// per batch within a minute in bench/latency.sh).
    static let claim = PostgresStatement(name: "outbox_claim", sql: """
        WITH taken AS (
            DELETE FROM outbox_queue t WHERE t.id = ANY (ARRAY(
                SELECT q.id FROM outbox_queue q
                WHERE \(OutboxPredicate.ready) AND \(OutboxPredicate.due)
                  AND q.shard % $2::int = ANY($3::int[])
                  AND NOT EXISTS (
                      SELECT 1 FROM outbox_queue e
                      WHERE e.aggregate_id = q.aggregate_id AND e.id < q.id AND \(OutboxPredicate.backingOff))
                ORDER BY q.id
                LIMIT $1
                FOR UPDATE OF q SKIP LOCKED))
            RETURNING t.id
        ), claimed AS (
            SELECT o.id, o.event_id, o.aggregate_type, o.aggregate_id, o.event_type, o.topic, o.payload, o.payload_bytes,
                   coalesce(o.payload_size, octet_length(o.payload_bytes), pg_column_size(o.payload), 0) AS payload_size,
                   o.content_type, o.message_key, o.message_partition, o.headers, o.created_at, o.attempts, o.tombstone, o.fields
            FROM taken JOIN outbox o ON o.id = taken.id
        )
        SELECT id, event_id, aggregate_type, aggregate_id, event_type, topic,
               CASE WHEN within THEN payload::text END AS payload, CASE WHEN within THEN payload_bytes END AS payload_bytes,
               payload_size, within, content_type, message_key, message_partition, headers::text AS headers, created_at, attempts, tombstone,
               fields::text AS fields
        FROM (SELECT c.*, payload_size <= $4::bigint
                          AND sum(CASE WHEN payload_size <= $4::bigint THEN payload_size ELSE 0 END) OVER (ORDER BY id) <= $4::bigint AS within
              FROM claimed c) b
        ORDER BY id
        """)

    /// `published_at` is the delivery report's time (µs since the epoch, the relay's clock), not
    /// the time of this statement, which comes a round trip or more later. A routed row's empty
    /// topic becomes the topic it went to.
    static let markPublished = PostgresStatement(name: "outbox_mark_published", plannedEachRun: true, sql: """
        UPDATE outbox o
        SET published_at = timestamptz 'epoch' + d.reported_us * interval '1 microsecond',
            kafka_partition = d.partition, kafka_offset = d.kafka_offset, next_attempt_at = NULL,
            topic = coalesce(d.topic, o.topic)
        FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::bigint[], $5::text[]) AS d(id, partition, kafka_offset, reported_us, topic)
        WHERE o.id = d.id
        """)

    static let deletePublished = PostgresStatement(name: "outbox_delete_published", plannedEachRun: true, sql: """
        DELETE FROM outbox WHERE id = ANY($1::bigint[])
        """)

    /// Of the head of the published history in id order (the rows not in the queue: published,
    /// as only rows written with the queue's triggers disabled are neither), $3 rows, the first $2
    /// published before the retention. Rows are published about in id order, so the expired rows
    /// are at the head; rows published late (retried, replayed) wait there until their own
    /// retention passes, and up to $3 − $2 of them hold back no row behind them.
    static let purge = PostgresStatement(name: "outbox_purge", plannedEachRun: true, sql: """
        DELETE FROM outbox WHERE id IN (
            SELECT id FROM (
                SELECT o.id, o.published_at FROM outbox o
                WHERE NOT EXISTS (SELECT 1 FROM outbox_queue q WHERE q.id = o.id)
                ORDER BY o.id LIMIT $3) head
            WHERE published_at < now() - $1::bigint * interval '1 millisecond'
            ORDER BY id LIMIT $2)
        """)

    /// The counts of `outbox_backlog` (migration 0014): kept an hour.
    static let expireCounts = PostgresStatement(name: "outbox_expire_counts", plannedEachRun: true, sql: """
        DELETE FROM outbox_published_counts WHERE second < now() - interval '1 hour'
        """)

    /// Topics in order, so that two relays' batches lock the rows of one second in the same order.
    static let countPublished = PostgresStatement(name: "outbox_count_published", sql: """
        INSERT INTO outbox_published_counts AS c (second, topic, events)
        SELECT date_trunc('second', now()), d.topic, d.events FROM unnest($1::text[], $2::bigint[]) AS d(topic, events)
        ON CONFLICT (second, topic) DO UPDATE SET events = c.events + excluded.events
        """)

    /// The claimed rows this batch neither delivered nor deleted go back to the queue, as the
    /// failures left them (backing off, or parked).
    static let requeue = PostgresStatement(name: "outbox_requeue", plannedEachRun: true, sql: """
        INSERT INTO outbox_queue (id, shard, aggregate_id, next_attempt_at, parked_at)
        SELECT id, shard, aggregate_id, next_attempt_at, parked_at FROM outbox
        WHERE id = ANY($1::bigint[]) AND published_at IS NULL
        """)

    /// Session-level, so it lasts across transactions and ends with the connection: a standby
    /// takes the shard over when the owner dies. Key: (0x6F627278 "obrx", shard).
    static let tryLock = PostgresStatement(name: "outbox_try_lock", sql: """
        SELECT pg_try_advisory_lock(1868723832, $1::int) AS locked
        """)

    static let markFailed = PostgresStatement(name: "outbox_mark_failed", plannedEachRun: true, sql: """
        UPDATE outbox o
        SET attempts = o.attempts + 1,
            last_error = f.error,
            next_attempt_at = now() + f.delay_ms * interval '1 millisecond',
            parked_at = CASE WHEN o.attempts + 1 >= $4::int OR f.park THEN now() END
        FROM unnest($1::bigint[], $2::text[], $3::bigint[], $5::boolean[]) AS f(id, error, delay_ms, park)
        WHERE o.id = f.id
        """)
}
