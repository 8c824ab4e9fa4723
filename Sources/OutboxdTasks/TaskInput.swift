import Foundation
import OutboxdCore
import OutboxdHTTP

/// A validated `POST /tasks` body.
public struct NewTask: Sendable, Equatable {
    public var title: String
    public var description: String?
    public var status: TaskStatus = .todo
    public var dueAt: Timestamp?

    public init(title: String, description: String? = nil, status: TaskStatus = .todo, dueAt: Timestamp? = nil) {
        self.title = title
        self.description = description
        self.status = status
        self.dueAt = dueAt
    }

    /// A canonical rendering, so an idempotent retry can be compared with the first request.
    public var fingerprint: String {
        JSONWriter.string(.object(JSONObject([
            "title": .string(title),
            "description": description.map(JSONValue.string) ?? .null,
            "status": .string(status.rawValue),
            "due_at": dueAt.map { .string($0.rfc3339) } ?? .null,
        ])))
    }
}

/// A validated `PATCH /tasks/{id}` body: `nil` leaves a field as it is; `.some(nil)` clears a
/// nullable field.
public struct TaskPatch: Sendable, Equatable {
    public var title: String?
    public var description: String??
    public var status: TaskStatus?
    public var dueAt: Timestamp??

    public init(title: String? = nil, description: String?? = nil, status: TaskStatus? = nil, dueAt: Timestamp?? = nil) {
        self.title = title
        self.description = description
        self.status = status
        self.dueAt = dueAt
    }
}

/// Validation of task bodies: pure, collects every field error.
public enum TaskValidation {
    public static let maxTitleLength = 200
    public static let maxDescriptionLength = 10_000
    static let fields = ["title", "description", "status", "due_at"]

    public static func newTask(from body: JSONValue) throws(ValidationFailure) -> NewTask {
        let object = try requireObject(body)
        var errors = unknownFields(object)
        var task = NewTask(title: "")
        if let value = object["title"] {
            if let title = check(title: value, &errors) { task.title = title }
        } else {
            errors.append(FieldError(pointer: "/title", message: "is required"))
        }
        if let value = object["description"] { task.description = check(description: value, &errors) ?? nil }
        if let value = object["status"], let status = check(status: value, &errors) { task.status = status }
        if let value = object["due_at"] { task.dueAt = check(dueAt: value, &errors) ?? nil }
        guard errors.isEmpty else { throw ValidationFailure(errors: errors) }
        return task
    }

    public static func patch(from body: JSONValue) throws(ValidationFailure) -> TaskPatch {
        let object = try requireObject(body)
        var errors = unknownFields(object)
        var patch = TaskPatch()
        if let value = object["title"] { patch.title = check(title: value, &errors) }
        if let value = object["description"] { patch.description = check(description: value, &errors) }
        if let value = object["status"] { patch.status = check(status: value, &errors) }
        if let value = object["due_at"] { patch.dueAt = check(dueAt: value, &errors) }
        if object.keys.isEmpty {
            errors.append(FieldError(pointer: "", message: "names no field to change; allowed: \(fields.joined(separator: ", "))"))
        }
        guard errors.isEmpty else { throw ValidationFailure(errors: errors) }
        return patch
    }

    private static func requireObject(_ body: JSONValue) throws(ValidationFailure) -> JSONObject {
        guard let object = body.objectValue else {
            throw ValidationFailure(errors: [FieldError(pointer: "", message: "must be a JSON object, not \(body.typeName)")])
        }
        return object
    }

    /// One error per unknown member, at most `maxUnknownReported` (a body of thousands of unknown
    /// keys would otherwise get an answer many times its size); the last says how many more.
    private static func unknownFields(_ object: JSONObject) -> [FieldError] {
        let unknown = object.keys.filter { !fields.contains($0) }
        var errors = unknown.prefix(maxUnknownReported).map {
            FieldError(pointer: "/" + pointerEscape(String($0.prefix(64))), message: "is not a known field; allowed: \(fields.joined(separator: ", "))")
        }
        if unknown.count > maxUnknownReported {
            errors.append(FieldError(pointer: "", message: "and \(unknown.count - maxUnknownReported) more unknown fields"))
        }
        return errors
    }

    static let maxUnknownReported = 20

    private static func check(title value: JSONValue, _ errors: inout [FieldError]) -> String? {
        guard let title = value.stringValue else {
            errors.append(FieldError(pointer: "/title", message: "must be a string, not \(value.typeName)"))
            return nil
        }
        if title.unicodeScalars.allSatisfy({ $0.properties.isWhitespace }) {
            errors.append(FieldError(pointer: "/title", message: "must not be empty"))
            return nil
        }
        return checkText(title, pointer: "/title", max: maxTitleLength, &errors)
    }

    /// `.some(nil)` for an explicit null.
    private static func check(description value: JSONValue, _ errors: inout [FieldError]) -> String?? {
        if value.isNull { return .some(nil) }
        guard let text = value.stringValue else {
            errors.append(FieldError(pointer: "/description", message: "must be a string or null, not \(value.typeName)"))
            return nil
        }
        return checkText(text, pointer: "/description", max: maxDescriptionLength, &errors).map { .some($0) }
    }

    private static func check(status value: JSONValue, _ errors: inout [FieldError]) -> TaskStatus? {
        guard let text = value.stringValue, let status = TaskStatus(rawValue: text) else {
            errors.append(FieldError(pointer: "/status", message: "must be one of \(TaskStatus.allowedList)"))
            return nil
        }
        return status
    }

    private static func check(dueAt value: JSONValue, _ errors: inout [FieldError]) -> Timestamp?? {
        if value.isNull { return .some(nil) }
        guard let text = value.stringValue else {
            errors.append(FieldError(pointer: "/due_at", message: "must be an RFC 3339 timestamp string or null, not \(value.typeName)"))
            return nil
        }
        guard let timestamp = Timestamp(rfc3339: text) else {
            errors.append(FieldError(pointer: "/due_at", message: "must be an RFC 3339 timestamp with a zone, e.g. 2026-01-31T09:00:00Z"))
            return nil
        }
        return .some(timestamp)
    }

    private static func checkText(_ text: String, pointer: String, max: Int, _ errors: inout [FieldError]) -> String? {
        if text.unicodeScalars.contains("\u{0}") {
            errors.append(FieldError(pointer: pointer, message: "must not contain NUL characters"))
            return nil
        }
        if text.unicodeScalars.count > max {
            errors.append(FieldError(pointer: pointer, message: "must be at most \(max) characters"))
            return nil
        }
        return text
    }

    private static func pointerEscape(_ key: String) -> String {
        key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }
}

/// A request body that failed validation; each error names its field.
public struct ValidationFailure: Error, Sendable, Equatable {
    public let errors: [FieldError]
}
