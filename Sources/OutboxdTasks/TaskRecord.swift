import Foundation
import OutboxdCore
import OutboxdPostgres

/// A task as stored and as the API returns it.
public struct TaskRecord: Sendable, Equatable {
    public var id: UUID
    public var title: String
    public var description: String?
    public var status: TaskStatus
    public var dueAt: Timestamp?
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
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
        dueAt = try row.decode(Timestamp.self, "due_at")
        createdAt = try row.require(Timestamp.self, "created_at")
        updatedAt = try row.require(Timestamp.self, "updated_at")
        version = try row.require(Int.self, "version")
    }

    /// The JSON the API returns (the same shape as `outboxd_task_json` in SQL).
    public var json: JSONValue {
        .object(JSONObject([
            "id": .string(id.lowercaseString),
            "title": .string(title),
            "description": description.map(JSONValue.string) ?? .null,
            "status": .string(status.rawValue),
            "due_at": dueAt.map { .string($0.rfc3339) } ?? .null,
            "created_at": .string(createdAt.rfc3339),
            "updated_at": .string(updatedAt.rfc3339),
            "version": .int(version),
        ]))
    }

    /// The strong validator for `ETag` / `If-Match`.
    public var etag: String { "\"\(version)\"" }
}
