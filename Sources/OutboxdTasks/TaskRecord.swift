import Foundation
import OutboxdCore
import OutboxdPostgres

/// A task as stored and as the API returns it.
public struct TaskRecord: Sendable, Equatable {
    public var id: UUID
    public var title: String
    public var description: String?
    public var status: TaskStatus
    public var dueAt: StoredTime?
    public var createdAt: StoredTime
    public var updatedAt: StoredTime
    public var version: Int

    /// The columns `init(row:)` reads, for SELECT lists.
    static let columns = "id, title, description, status, due_at, created_at, updated_at, version"

    init(row: PostgresRow) throws {
        id = try row.require(UUID.self, "id")
        title = try row.require(String.self, "title")
        description = try row.decode(String.self, "description")
        let statusText = try row.require(String.self, "status")
        guard let status = TaskStatus(rawValue: statusText) else {
            throw PostgresError(kind: .decoding, message: "column \"status\" holds an unknown status")
        }
        self.status = status
        dueAt = try row.decode(StoredTime.self, "due_at")
        createdAt = try row.require(StoredTime.self, "created_at")
        updatedAt = try row.require(StoredTime.self, "updated_at")
        version = try row.require(Int.self, "version")
    }

    /// The JSON the API returns (the same shape as `outboxd_task_json` in SQL). A time that another
    /// writer stored with SQL outside RFC 3339 (`infinity`, a BC date, a year after 9999) is null,
    /// and `out_of_range` names it with PostgreSQL's spelling: `{"due_at": "infinity"}`.
    public var json: JSONValue {
        var object = JSONObject([
            "id": .string(id.lowercaseString),
            "title": .string(title),
            "description": description.map(JSONValue.string) ?? .null,
            "status": .string(status.rawValue),
            "due_at": dueAt?.json ?? .null,
            "created_at": createdAt.json,
            "updated_at": updatedAt.json,
            "version": .int(version),
        ])
        if !outOfRange.isEmpty {
            var fields = JSONObject()
            for (field, stored) in outOfRange { fields.append(field, .string(stored)) }
            object.append("out_of_range", .object(fields))
        }
        return .object(object)
    }

    /// The fields holding a time outside RFC 3339, with PostgreSQL's spelling of it.
    public var outOfRange: [(field: String, stored: String)] {
        [("due_at", dueAt), ("created_at", createdAt), ("updated_at", updatedAt)].compactMap { field, value in
            if case .outOfRange(let text)? = value { (field, text) } else { nil }
        }
    }

    /// The strong validator for `ETag` / `If-Match`.
    public var etag: String { "\"\(version)\"" }
}
