import Foundation
import OutboxdCore
import OutboxdOutbox
import OutboxdPostgres

/// Reads and writes tasks. Every write puts the task change and its outbox event in the same
/// statement, hence the same transaction (G1), in one round trip: each write's CTE `new_events`
/// feeds `OutboxWriter.insertNewEvents`. A write's `trace` (the request's W3C Trace Context) goes
/// into its events' stored headers (`outbox.headers`), which the relay sends as Kafka headers.
public struct TaskStore: Sendable {
    public enum CreateResult: Sendable, Equatable {
        case created(TaskRecord, eventID: UUID)
        /// A retry with the same `Idempotency-Key` and body: the task as it is now; nothing written.
        case replayed(TaskRecord)
        /// The key was used before with a different body.
        case keyReused
    }

    public enum WriteResult<Value: Sendable & Equatable>: Sendable, Equatable {
        case done(Value)
        case notFound
        /// `If-Match` named another version; the current one is given.
        case versionMismatch(current: Int)
    }

    /// The outcome of a PATCH: the task and the ids of the events it emitted, in order.
    public struct Update: Sendable, Equatable {
        public var task: TaskRecord
        public var eventIDs: [UUID]
    }

    public let pool: PostgresPool
    public let topic: String
    /// Called after every commit that wrote outbox rows (the relay's wake-up); must not block.
    let afterCommit: @Sendable () -> Void

    public init(pool: PostgresPool, topic: String, afterCommit: @escaping @Sendable () -> Void = {}) {
        self.pool = pool
        self.topic = topic
        self.afterCommit = afterCommit
    }

    public func create(_ task: NewTask, idempotencyKey: String?, trace: TraceContext? = nil) throws -> CreateResult {
        try pool.withConnection { connection in
            for _ in 0..<3 {
                let eventID = UUID()
                let rows = try connection.query(Self.insert, [
                    task.title, task.description, task.status.rawValue, task.dueAt,
                    idempotencyKey, idempotencyKey == nil ? nil : task.fingerprint, topic, eventID,
                    TraceContext.headersText(trace),
                ])
                if let row = rows.first {
                    afterCommit()
                    return .created(try TaskRecord(row: row), eventID: eventID)
                }
                // Only an Idempotency-Key conflict inserts nothing.
                let existing = try connection.query(Self.byIdempotencyKey, [idempotencyKey, task.fingerprint])
                if let row = existing.first {
                    return try row.require(Bool.self, "same_request") ? .replayed(try TaskRecord(row: row)) : .keyReused
                }
                // The task holding the key was deleted in between: try the insert again.
            }
            throw PostgresError(kind: .server, message: "idempotency key kept conflicting")
        }
    }

    /// Creates every task of `tasks` with its `task.created` event in ONE statement and
    /// transaction: the group commit's write. Results in the order of `tasks`; throws when any row
    /// fails (then none is written). `ids` and `eventIDs` (one per task, new by default) let a retry
    /// of a batch whose commit went unanswered find it (`createdAll`); `traces` (one per task, none
    /// by default) go into the events' headers. `keys` (one `Idempotency-Key` or nil per task) writes
    /// each keyed task only when no task holds its key yet (nor an earlier task of the batch): nil
    /// in its place otherwise, for `create` to tell a replay from a reused key.
    public func createAll(_ tasks: [NewTask], ids: [UUID]? = nil, eventIDs: [UUID]? = nil,
                          traces: [TraceContext?]? = nil, keys: [String?]? = nil) throws -> [(task: TaskRecord, eventID: UUID)?] {
        let ids = ids ?? tasks.map { _ in UUID() }
        let headers = (traces ?? tasks.map { _ in nil }).map(TraceContext.headersText)
        let eventIDs = eventIDs ?? tasks.map { _ in UUID() }
        let keyed = keys?.contains { $0 != nil } == true
        let rows = try pool.withConnection { connection in
            var parameters: [(any PostgresParameter)?] = [
                ids, tasks.map(\.title), PostgresNullableArray(tasks.map(\.description)), tasks.map(\.status.rawValue),
                PostgresNullableArray(tasks.map(\.dueAt)), eventIDs, topic, headers,
            ]
            guard keyed, let keys else { return try connection.query(Self.insertAll, parameters) }
            parameters += [PostgresNullableArray(keys), PostgresNullableArray(zip(tasks, keys).map { $1 == nil ? nil : $0.fingerprint })]
            return try connection.query(Self.insertAllKeyed, parameters)
        }
        var byID: [UUID: TaskRecord] = [:]
        for row in rows {
            let record = try TaskRecord(row: row)
            byID[record.id] = record
        }
        let created = try zip(ids, eventIDs).enumerated().map { n, pair -> (task: TaskRecord, eventID: UUID)? in
            guard let record = byID[pair.0] else {
                if keys?[n] != nil { return nil }
                throw PostgresError(kind: .decoding, message: "a task of the batch was not returned")
            }
            return (task: record, eventID: pair.1)
        }
        afterCommit()
        return created
    }

    /// What a batch of `createAll` whose commit went unanswered wrote: nil when none of `ids`
    /// exists (it did not commit), else the tasks of `ids` (nil where a task was not written, which
    /// only a keyed task can be) paired with `eventIDs`, in the order of `ids`.
    public func createdAll(ids: [UUID], eventIDs: [UUID]) throws -> [(task: TaskRecord, eventID: UUID)?]? {
        let rows = try pool.withConnection { connection in
            try connection.query(Self.byIDs, [ids])
        }
        guard !rows.isEmpty else { return nil }
        var byID: [UUID: TaskRecord] = [:]
        for row in rows {
            let record = try TaskRecord(row: row)
            byID[record.id] = record
        }
        return zip(ids, eventIDs).map { id, eventID in byID[id].map { (task: $0, eventID: eventID) } }
    }

    /// One page of a task's history, or why there is none.
    public enum HistoryResult: Sendable, Equatable {
        /// JSON objects (text), oldest first; `next` is set when more follow.
        case page(items: [String], next: HistoryCursor?)
        /// Neither the task nor any history of it exists.
        case notFound
        /// `after` names no history row of this task.
        case unknownCursor
    }

    /// A page of the audit log of a task (what the audit consumer recorded), oldest first, after
    /// `cursor`: at most `limit` items, fewer when they pass `maxBytes` (never fewer than one);
    /// `limit + 1` rows are read to know whether another page follows.
    public func history(_ id: UUID, after cursor: HistoryCursor?, limit: Int, maxBytes: Int) throws -> HistoryResult {
        try pool.withConnection { connection in
            let rows = try connection.query(Self.historyPage, [id, cursor?.auditID, limit + 1])
            guard !rows.isEmpty else {
                let known = try connection.query(Self.historyKnown, [id, cursor?.auditID]).first
                guard try known?.require(Bool.self, "known") == true else { return .notFound }
                return try known?.require(Bool.self, "cursor_known") == true ? .page(items: [], next: nil) : .unknownCursor
            }
            var items: [String] = []
            var bytes = 0
            var lastID: Int64 = 0
            for row in rows.prefix(limit) {
                let item = try row.require(String.self, "item")
                if !items.isEmpty, bytes + item.utf8.count > maxBytes { break }
                items.append(item)
                bytes += item.utf8.count
                lastID = try row.require(Int64.self, "id")
            }
            return .page(items: items, next: items.count < rows.count ? HistoryCursor(auditID: lastID) : nil)
        }
    }

    public func get(_ id: UUID) throws -> TaskRecord? {
        try pool.withConnection { connection in
            try connection.query(Self.byID, [id]).first.map(TaskRecord.init(row:))
        }
    }

    /// One page in creation order, starting after `cursor`; `limit + 1` rows are read to know
    /// whether another page follows.
    public func list(status: TaskStatus?, after cursor: TaskCursor?, limit: Int) throws -> (tasks: [TaskRecord], next: TaskCursor?) {
        let start = cursor ?? TaskCursor.start
        let rows = try pool.withConnection { connection in
            if let status {
                return try connection.query(Self.pageByStatus, [status.rawValue, start.createdAt, start.id, limit + 1])
            }
            return try connection.query(Self.page, [start.createdAt, start.id, limit + 1])
        }
        var tasks = try rows.map(TaskRecord.init(row:))
        var next: TaskCursor?
        if tasks.count > limit {
            tasks.removeLast()
            next = tasks.last.map { TaskCursor(createdAt: $0.createdAt, id: $0.id) }
        }
        return (tasks, next)
    }

    public func update(_ id: UUID, _ patch: TaskPatch, ifVersion: Int?, trace: TraceContext? = nil) throws -> WriteResult<Update> {
        try update(id, patch, ifVersionIn: ifVersion.map { [$0] }, trace: trace)
    }

    /// Applies `patch` if the task is at one of `versions` (any version for nil; none for `[]`,
    /// which gives `.versionMismatch` for an existing task).
    public func update(_ id: UUID, _ patch: TaskPatch, ifVersionIn versions: [Int]?, trace: TraceContext? = nil) throws -> WriteResult<Update> {
        try pool.withConnection { connection in
            let updatedID = UUID(), completedID = UUID()
            let rows = try connection.query(Self.update, [
                id,
                patch.title != nil, patch.title,
                patch.description != nil, patch.description ?? nil,
                patch.status != nil, patch.status?.rawValue,
                patch.dueAt != nil, patch.dueAt ?? nil,
                versions, topic, updatedID, completedID, TraceContext.headersText(trace),
            ])
            guard let row = rows.first else { return try missing(id, connection) }
            afterCommit()
            let task = try TaskRecord(row: row)
            let completed = try row.require(Bool.self, "completed")
            return .done(Update(task: task, eventIDs: completed ? [updatedID, completedID] : [updatedID]))
        }
    }

    public func delete(_ id: UUID, ifVersion: Int?, trace: TraceContext? = nil) throws -> WriteResult<UUID> {
        try delete(id, ifVersionIn: ifVersion.map { [$0] }, trace: trace)
    }

    /// Deletes the task if it is at one of `versions` (as `update`).
    public func delete(_ id: UUID, ifVersionIn versions: [Int]?, trace: TraceContext? = nil) throws -> WriteResult<UUID> {
        try pool.withConnection { connection in
            let eventID = UUID()
            let rows = try connection.query(Self.delete, [id, versions, topic, eventID, TraceContext.headersText(trace)])
            guard rows.first != nil else { return try missing(id, connection) }
            afterCommit()
            return .done(eventID)
        }
    }

    private func missing<Value>(_ id: UUID, _ connection: PQConnection) throws -> WriteResult<Value> {
        guard let row = try connection.query(Self.versionOf, [id]).first else { return .notFound }
        return .versionMismatch(current: try row.require(Int.self, "version"))
    }
}

extension TaskStore {
    static let insert = PostgresStatement(name: "task_insert", sql: """
        WITH t AS (
            INSERT INTO tasks (title, description, status, due_at, idempotency_key, request_hash)
            VALUES ($1, $2, $3, $4::timestamptz, $5, md5($6))
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING tasks AS task
        ), new_events AS (
            SELECT $8::uuid AS event_id, 'task' AS aggregate_type, (t.task).id::text AS aggregate_id,
                   'task.created' AS event_type, $7::text AS topic,
                   outboxd_task_event(t.task, $8::uuid, 'task.created', (t.task).created_at) AS payload,
                   $9::jsonb AS headers, 1 AS position
            FROM t
        ), o AS (
            \(OutboxWriter.insertNewEvents)
        )
        SELECT (t.task).* FROM t
        """)

    /// `insert` for many tasks without Idempotency-Keys: arrays in, one row per task out. Task ids
    /// come from the caller, so each returned task is matched to its request and event id.
    static let insertAll = PostgresStatement(name: "task_insert_all", sql: insertAllSQL(keyed: false))

    /// `insertAll` with an Idempotency-Key (`$9`) and request fingerprint (`$10`) per task, each
    /// NULL for a task without a key; a task whose key is held is skipped (no row, no event).
    static let insertAllKeyed = PostgresStatement(name: "task_insert_all_keyed", sql: insertAllSQL(keyed: true))

    private static func insertAllSQL(keyed: Bool) -> String {
        """
        WITH input AS (
            SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::uuid[], $8::jsonb[]\(keyed ? ", $9::text[], $10::text[]" : ""))
                WITH ORDINALITY AS i(id, title, description, status, due_at, event_id, headers\(keyed ? ", idempotency_key, fingerprint" : ""), n)
        ), t AS (
            INSERT INTO tasks (id, title, description, status, due_at\(keyed ? ", idempotency_key, request_hash" : ""))
            SELECT id, title, description, status, due_at\(keyed ? ", idempotency_key, md5(fingerprint)" : "") FROM input ORDER BY n
            \(keyed ? "ON CONFLICT (idempotency_key) DO NOTHING" : "")
            RETURNING tasks AS task
        ), new_events AS (
            SELECT i.event_id, 'task' AS aggregate_type, (t.task).id::text AS aggregate_id, 'task.created' AS event_type,
                   $7::text AS topic, outboxd_task_event(t.task, i.event_id, 'task.created', (t.task).created_at) AS payload,
                   i.headers, i.n AS position
            FROM t JOIN input i ON i.id = (t.task).id
        ), o AS (
            \(OutboxWriter.insertNewEvents)
        )
        SELECT (t.task).* FROM t
        """
    }

    /// Keyset page over `audit_log_task_idx (task_id, occurred_at, id)`; the position is read
    /// from the cursor's own row (of this task: another task's row gives no position, no rows).
    static let historyPage = PostgresStatement(name: "task_history_page", sql: """
        SELECT a.id, jsonb_build_object(
                   'event_id', a.event_id, 'event_type', a.event_type, 'occurred_at', outboxd_rfc3339(a.occurred_at),
                   'recorded_at', outboxd_rfc3339(a.recorded_at), 'payload', a.payload)::text AS item
        FROM audit_log a
        WHERE a.task_id = $1
          AND ($2::bigint IS NULL
               OR (a.occurred_at, a.id) > (SELECT c.occurred_at, c.id FROM audit_log c WHERE c.id = $2::bigint AND c.task_id = $1))
        ORDER BY a.occurred_at, a.id
        LIMIT $3
        """)

    static let historyKnown = PostgresStatement(name: "task_history_known", sql: """
        SELECT (EXISTS (SELECT 1 FROM tasks WHERE id = $1) OR EXISTS (SELECT 1 FROM audit_log WHERE task_id = $1)) AS known,
               ($2::bigint IS NULL OR EXISTS (SELECT 1 FROM audit_log WHERE id = $2::bigint AND task_id = $1)) AS cursor_known
        """)

    /// The tasks of `$1` (random ids chosen by this process: a row with one is the batch's).
    static let byIDs = PostgresStatement(name: "task_by_ids", sql: """
        SELECT \(TaskRecord.columns) FROM tasks WHERE id = ANY($1::uuid[])
        """)

    static let byIdempotencyKey = PostgresStatement(name: "task_by_idempotency_key", sql: """
        SELECT \(TaskRecord.columns), request_hash IS NOT DISTINCT FROM md5($2) AS same_request
        FROM tasks WHERE idempotency_key = $1
        """)

    static let byID = PostgresStatement(name: "task_by_id", sql: """
        SELECT \(TaskRecord.columns) FROM tasks WHERE id = $1
        """)

    static let versionOf = PostgresStatement(name: "task_version", sql: """
        SELECT version FROM tasks WHERE id = $1
        """)

    static let page = PostgresStatement(name: "task_page", sql: """
        SELECT \(TaskRecord.columns) FROM tasks
        WHERE (created_at, id) > ($1::timestamptz, $2::uuid)
        ORDER BY created_at, id LIMIT $3
        """)

    static let pageByStatus = PostgresStatement(name: "task_page_by_status", sql: """
        SELECT \(TaskRecord.columns) FROM tasks
        WHERE status = $1 AND (created_at, id) > ($2::timestamptz, $3::uuid)
        ORDER BY created_at, id LIMIT $4
        """)

    /// task.updated always; task.completed too when the status becomes done.
    static let update = PostgresStatement(name: "task_update", sql: """
        WITH old AS (
            SELECT id, status FROM tasks WHERE id = $1 FOR UPDATE
        ), t AS (
            UPDATE tasks SET
                title = CASE WHEN $2::bool THEN $3 ELSE tasks.title END,
                description = CASE WHEN $4::bool THEN $5 ELSE tasks.description END,
                status = CASE WHEN $6::bool THEN $7 ELSE tasks.status END,
                due_at = CASE WHEN $8::bool THEN $9::timestamptz ELSE tasks.due_at END,
                updated_at = now(),
                version = tasks.version + 1
            FROM old
            WHERE tasks.id = old.id AND ($10::bigint[] IS NULL OR tasks.version = ANY($10::bigint[]))
            RETURNING tasks AS task, (tasks.status = 'done' AND old.status <> 'done') AS completed
        ), new_events AS (
            SELECT e.event_id, 'task' AS aggregate_type, (t.task).id::text AS aggregate_id, e.event_type, $11::text AS topic,
                   outboxd_task_event(t.task, e.event_id, e.event_type, (t.task).updated_at) AS payload,
                   $14::jsonb AS headers, e.n AS position
            FROM t CROSS JOIN LATERAL (
                VALUES (1, $12::uuid, 'task.updated'), (2, $13::uuid, 'task.completed')
            ) AS e(n, event_id, event_type)
            WHERE e.n = 1 OR t.completed
        ), o AS (
            \(OutboxWriter.insertNewEvents)
        )
        SELECT (t.task).*, t.completed FROM t
        """)

    static let delete = PostgresStatement(name: "task_delete", sql: """
        WITH t AS (
            DELETE FROM tasks WHERE id = $1 AND ($2::bigint[] IS NULL OR version = ANY($2::bigint[]))
            RETURNING tasks AS task
        ), new_events AS (
            SELECT $4::uuid AS event_id, 'task' AS aggregate_type, (t.task).id::text AS aggregate_id,
                   'task.deleted' AS event_type, $3::text AS topic,
                   outboxd_task_event(t.task, $4::uuid, 'task.deleted', now()) AS payload,
                   $5::jsonb AS headers, 1 AS position
            FROM t
        ), o AS (
            \(OutboxWriter.insertNewEvents)
        )
        SELECT (t.task).id FROM t
        """)
}
