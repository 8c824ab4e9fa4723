import Foundation
import OutboxdCore
import OutboxdHTTP
import OutboxdPostgres

/// The Task API: maps HTTP requests to `TaskStore` calls and their results to responses.
public struct TaskRoutes: Sendable {
    public let store: TaskStore
    let delivery: (any DeliveryWaiting)?
    /// Writes creates in shared transactions, when enabled.
    let groupCommit: GroupCommitter?
    let logger = Logger(label: "api")

    public static let defaultPageSize = 20
    public static let maxPageSize = 100
    static let maxIdempotencyKeyLength = 200
    /// A history page ends before the item that would take its items past this size (1 MiB;
    /// one item always fits), however large the payloads other writers put in the outbox.
    static let maxHistoryPageBytes = 1 << 20

    public init(store: TaskStore, delivery: (any DeliveryWaiting)? = nil, groupCommit: GroupCommitter? = nil) {
        self.store = store
        self.delivery = delivery
        self.groupCommit = groupCommit
    }

    public func register(in router: inout Router) {
        router.add("POST", "/tasks") { request, _ in self.guarded { try self.create(request) } }
        router.add("GET", "/tasks") { request, _ in self.guarded { try self.list(request) } }
        router.add("GET", "/tasks/{id}") { _, captures in self.guarded { try self.get(captures["id"]!) } }
        router.add("GET", "/tasks/{id}/history") { request, captures in self.guarded { try self.history(request, captures["id"]!) } }
        router.add("PATCH", "/tasks/{id}") { request, captures in self.guarded { try self.patch(request, captures["id"]!) } }
        router.add("DELETE", "/tasks/{id}") { request, captures in self.guarded { try self.delete(request, captures["id"]!) } }
    }

    func create(_ request: HTTPRequest) throws -> HTTPResponse {
        let key = request.headers["idempotency-key"]
        if let key, !Self.isValidIdempotencyKey(key) {
            return .problem(400, title: "Bad Request", detail: "Idempotency-Key must be 1–\(Self.maxIdempotencyKeyLength) visible ASCII characters")
        }
        let task = try TaskValidation.newTask(from: JSONBody.parse(request))
        let trace = Self.trace(of: request)
        let prefer = request.headers["prefer"]
        guard let groupCommit else { return answer(try store.create(task, idempotencyKey: key, trace: trace), prefer: prefer) }
        // Answered when the commit that holds it returns; the worker is free meanwhile.
        let deferred = DeferredResponse()
        groupCommit.enqueue(task, idempotencyKey: key, trace: trace) { [self] outcome in
            let response = guarded { answer(try outcome.get(), prefer: prefer) }
            guard let later = response.deferred else { return deferred.resolve(response) }
            later.whenResolved { deferred.resolve($0) }
        }
        return .later(deferred)
    }

    /// The response to a create's result; with `Prefer: wait`, once its event is delivered.
    private func answer(_ result: TaskStore.CreateResult, prefer: String?) -> HTTPResponse {
        switch result {
        case .created(let record, let eventID):
            guard let seconds = PreferWait.seconds(from: prefer), let delivery else {
                return created(record)
            }
            return waitForDelivery(record, eventID: eventID, seconds: seconds, delivery: delivery)
        case .replayed(let record):
            return created(record).adding(header: "Idempotent-Replayed", "true")
        case .keyReused:
            return .problem(422, title: "Unprocessable Content",
                            detail: "Idempotency-Key was already used with a different request body")
        }
    }

    func get(_ idText: String) throws -> HTTPResponse {
        guard let id = UUID(text: idText) else { return Self.badID }
        guard let task = try store.get(id) else { return Self.taskNotFound }
        return .json(200, task.json, headers: [("ETag", task.etag)])
    }

    /// What the audit consumer recorded for the task, oldest first; also after the task was
    /// deleted. Paged like `GET /tasks` (`limit`, `after`, `next_after`), and a page stops early
    /// once its items pass `maxHistoryPageBytes`.
    func history(_ request: HTTPRequest, _ idText: String) throws -> HTTPResponse {
        guard let id = UUID(text: idText) else { return Self.badID }
        var limit = Self.defaultPageSize
        var cursor: HistoryCursor?
        for (name, value) in request.query {
            switch name {
            case "limit":
                guard let parsed = Self.pageSize(value) else { return Self.badLimit }
                limit = parsed
            case "after":
                guard let parsed = HistoryCursor(token: value) else {
                    return Self.badQuery("after must be a next_after value from a previous page of this task's history")
                }
                cursor = parsed
            default:
                return Self.badQuery("unknown query parameter \(name.prefix(64)); allowed: limit, after")
            }
        }
        switch try store.history(id, after: cursor, limit: limit, maxBytes: Self.maxHistoryPageBytes) {
        case .notFound:
            return Self.taskNotFound
        case .unknownCursor:
            return Self.badQuery("after must be a next_after value from a previous page of this task's history")
        case .page(let items, let next):
            let nextText = next.map { #"""# + $0.token + #"""# } ?? "null"
            let body = #"{"task_id":""# + id.lowercaseString + #"","items":["# + items.joined(separator: ",") + #"],"next_after":"# + nextText + "}"
            return HTTPResponse(status: 200, headers: [("Content-Type", "application/json")], body: Array(body.utf8))
        }
    }

    func list(_ request: HTTPRequest) throws -> HTTPResponse {
        var status: TaskStatus?
        var limit = Self.defaultPageSize
        var cursor: TaskCursor?
        for (name, value) in request.query {
            switch name {
            case "status":
                guard let parsed = TaskStatus(rawValue: value) else {
                    return Self.badQuery("status must be one of \(TaskStatus.allowedList)")
                }
                status = parsed
            case "limit":
                guard let parsed = Self.pageSize(value) else { return Self.badLimit }
                limit = parsed
            case "after":
                guard let parsed = TaskCursor(token: value) else {
                    return Self.badQuery("after must be a next_after value from a previous page")
                }
                cursor = parsed
            default:
                return Self.badQuery("unknown query parameter \(name.prefix(64)); allowed: status, limit, after")
            }
        }
        let page = try store.list(status: status, after: cursor, limit: limit)
        return .json(200, .object(JSONObject([
            "items": .array(page.tasks.map(\.json)),
            "next_after": page.next.map { .string($0.token) } ?? .null,
        ])))
    }

    func patch(_ request: HTTPRequest, _ idText: String) throws -> HTTPResponse {
        guard let id = UUID(text: idText) else { return Self.badID }
        let versions = try Self.ifMatchVersions(request)
        let patch = try TaskValidation.patch(from: JSONBody.parse(request, alsoAccepting: ["application/merge-patch+json"]))
        let result: TaskStore.WriteResult<TaskStore.Update>
        do {
            result = try store.update(id, patch, ifVersionIn: versions, trace: Self.trace(of: request))
        } catch let error as PostgresError where error.code == .checkViolation {
            guard let field = Self.outOfRangeField(error) else { throw error }
            return try outOfRangeConflict(id, field: field)
        }
        switch result {
        case .done(let update): return .json(200, update.task.json, headers: [("ETag", update.task.etag)])
        case .notFound: return Self.taskNotFound
        case .versionMismatch(let current): return Self.preconditionFailed(current)
        }
    }

    /// The field a `tasks_<field>_in_range` constraint (migration 0009) refused.
    static func outOfRangeField(_ error: PostgresError) -> String? {
        guard let constraint = error.constraint, constraint.hasPrefix("tasks_"), constraint.hasSuffix("_in_range") else { return nil }
        return String(constraint.dropFirst("tasks_".count).dropLast("_in_range".count))
    }

    /// 409 for a change that would keep a time another writer stored outside RFC 3339 (the
    /// constraint refuses any new row version holding one): `due_at` can be replaced in the same
    /// PATCH, `created_at` cannot be changed through the API.
    private func outOfRangeConflict(_ id: UUID, field: String) throws -> HTTPResponse {
        guard let task = try store.get(id) else { return Self.taskNotFound }
        let stored = task.outOfRange.first { $0.field == field }?.stored ?? "a time outside RFC 3339"
        let remedy = field == "due_at" ? "send due_at (a time or null) in the PATCH to replace it"
            : "it cannot be changed through the API; an operator must correct the row"
        return .problem(409, title: "Conflict", detail: "the task's \(field) holds \(stored), written outside the API, which RFC 3339 cannot express; \(remedy)",
                        headers: [("ETag", task.etag)])
    }

    func delete(_ request: HTTPRequest, _ idText: String) throws -> HTTPResponse {
        guard let id = UUID(text: idText) else { return Self.badID }
        let versions = try Self.ifMatchVersions(request)
        switch try store.delete(id, ifVersionIn: versions, trace: Self.trace(of: request)) {
        case .done: return HTTPResponse(status: 204)
        case .notFound: return Self.taskNotFound
        case .versionMismatch(let current): return Self.preconditionFailed(current)
        }
    }

    /// Turns what a handler throws into its response: a 4xx it chose, 422 for invalid fields,
    /// 503 for a database that is down for now (or a group commit that gave up), 500 (logged)
    /// for anything else.
    func guarded(_ body: () throws -> HTTPResponse) -> HTTPResponse {
        do {
            return try body()
        } catch let error as ResponseError {
            return error.response
        } catch let error as ValidationFailure {
            return .unprocessable(error.errors)
        } catch let error as GroupCommitError {
            logger.warning("database unavailable", ["error": error.description])
            return .unavailable("the task could not be written for now (nothing was written); retry shortly")
        } catch let error as PostgresError where error.isTransient {
            logger.warning("database unavailable", ["error": error.description])
            return .unavailable("the database is unavailable; retry shortly")
        } catch {
            logger.error("request failed", ["error": "\(error)"])
            return .problem(500, title: "Internal Server Error", detail: "the request failed; see the server log")
        }
    }

    /// 201 naming the event's partition and offset once the relay has its delivery report, or 202
    /// when `seconds` pass first (the event is safe in the outbox either way). Answered later: the
    /// request holds no worker while it waits.
    private func waitForDelivery(_ task: TaskRecord, eventID: UUID, seconds: Int, delivery: any DeliveryWaiting) -> HTTPResponse {
        let deferred = DeferredResponse()
        let headers = [("Location", Self.location(of: task)), ("ETag", task.etag), ("Preference-Applied", "wait=\(seconds)")]
        let json = task.json
        delivery.awaitDelivery(of: eventID, timeout: .seconds(seconds)) { report in
            var body = json.objectValue ?? JSONObject()
            var event = JSONObject(["id": .string(eventID.lowercaseString)])
            if let report {
                event.append("partition", report.partition.map { .int(Int($0)) } ?? .null)
                event.append("offset", report.offset.map { .int(Int($0)) } ?? .null)
            }
            body.append("event", .object(event))
            deferred.resolve(.json(report == nil ? 202 : 201, .object(body), headers: headers))
        }
        return .later(deferred)
    }

    private func created(_ task: TaskRecord) -> HTTPResponse {
        .json(201, task.json, headers: [("Location", Self.location(of: task)), ("ETag", task.etag)])
    }

    /// The request's W3C Trace Context for its events' headers; nil (nothing stored, never an
    /// error) when `traceparent` is missing, repeated or malformed.
    static func trace(of request: HTTPRequest) -> TraceContext? {
        TraceContext(traceparent: request.headers.values("traceparent"), tracestate: request.headers.values("tracestate"))
    }

    static func location(of task: TaskRecord) -> String {
        "/tasks/\(task.id.lowercaseString)"
    }

    static func isValidIdempotencyKey(_ key: String) -> Bool {
        (1...maxIdempotencyKeyLength).contains(key.utf8.count) && key.utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }

    /// The versions `If-Match` lets a change apply at: nil for none or `*` (any version), else
    /// those of its strong ETags. If-Match uses the strong comparison (RFC 9110 §13.1.1), so a
    /// weak ETag (`W/"3"`) never matches: `W/"3"` alone gives `[]`, a 412 for an existing task.
    /// Every ETag in the list must name a version (`"3"`), else 400.
    static func ifMatchVersions(_ request: HTTPRequest) throws(ResponseError) -> [Int]? {
        guard let value = request.headers["if-match"] else { return nil }
        if value.trimmingOWS() == "*" { return nil }
        guard let tags = EntityTag.list(value), !tags.isEmpty else {
            throw ResponseError(.problem(400, title: "Bad Request", detail: "If-Match must be * or a list of ETags of this task, e.g. \"3\" or \"3\", \"4\""))
        }
        var versions: [Int] = []
        for tag in tags {
            guard tag.opaque.first != "0", tag.opaque.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let version = Int(tag.opaque) else {
                throw ResponseError(.problem(400, title: "Bad Request", detail: "If-Match must name ETags of this task, which are versions such as \"3\""))
            }
            if !tag.isWeak { versions.append(version) }
        }
        return versions
    }

    static let badID = HTTPResponse.notFound("no task with that id (ids are UUIDs)")
    static let taskNotFound = HTTPResponse.notFound("no task with that id")

    /// `limit` of a page: digits only, 1…`maxPageSize` (a value of any length beyond is a 400).
    static func pageSize(_ value: String) -> Int? {
        guard !value.isEmpty, value.utf8.count <= 3, value.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
              let parsed = Int(value), (1...maxPageSize).contains(parsed) else { return nil }
        return parsed
    }

    static let badLimit = badQuery("limit must be a whole number from 1 to \(maxPageSize)")

    static func badQuery(_ detail: String) -> HTTPResponse {
        .problem(400, title: "Bad Request", detail: detail)
    }

    static func preconditionFailed(_ current: Int) -> HTTPResponse {
        .problem(412, title: "Precondition Failed", detail: "the task is at version \(current); If-Match named another",
                 headers: [("ETag", "\"\(current)\"")])
    }
}

/// A 4xx response thrown by a check, answered as it is.
public struct ResponseError: Error, Sendable {
    public let response: HTTPResponse
    init(_ response: HTTPResponse) { self.response = response }
}
