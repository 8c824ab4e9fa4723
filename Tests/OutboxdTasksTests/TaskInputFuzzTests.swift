import OutboxdCore
import OutboxdHTTP
import OutboxdTestSupport
import Testing
@testable import OutboxdTasks

/// G7, pure: random and mutated task bodies through the JSON parser and `TaskValidation`. No
/// input crashes either; each gives a valid task or a typed error with a message (naming its
/// field), a valid body gives exactly the task it describes, and valid values round-trip.
@Suite struct TaskInputFuzzTests {
    @Test func parserAndValidationHoldOnRandomBodies() {
        let report = Fuzz.run("task-input") { random in
            let body = TaskBodyGenerator.body(&random)
            try Self.check(body)
        }
        if let failure = report.failure { Issue.record(Comment(rawValue: failure)) }
    }

    static func check(_ body: TaskBodyGenerator.Body) throws(FuzzFailure) {
        let input = body.bytes
        let value: JSONValue
        do {
            value = try JSONParser.parse(input)
        } catch {
            try Fuzz.check(!body.isJSON, "well-formed JSON rejected: \(error)", input: input)
            try Fuzz.check((0...input.count).contains(error.offset), "error offset \(error.offset) outside the input", input: input)
            try Fuzz.check(!error.detail.isEmpty, "parse error without a detail", input: input)
            return
        }
        let written = JSONWriter.bytes(value)
        let reparsed = try? JSONParser.parse(written)
        try Fuzz.check(reparsed == value, "written JSON does not parse back to the same value: \(String(decoding: written, as: UTF8.self))", input: input)
        try checkNumbers(in: value, input: input)

        let task = Result { () throws(ValidationFailure) in try TaskValidation.newTask(from: value) }
        let patch = Result { () throws(ValidationFailure) in try TaskValidation.patch(from: value) }
        if let expected = body.task {
            try Fuzz.check(task == .success(expected), "valid body gave \(task) instead of \(expected)", input: input)
        }
        if let expected = body.patch {
            try Fuzz.check(patch == .success(expected), "valid patch gave \(patch) instead of \(expected)", input: input)
        }
        switch task {
        case .success(let task): try checkValid(task, from: value, input: input)
        case .failure(let failure): try checkErrors(failure, for: value, input: input)
        }
        switch patch {
        case .success(let patch): try checkValid(patch, from: value, input: input)
        case .failure(let failure): try checkErrors(failure, for: value, input: input)
        }
    }

    /// Each error names a field of the body (or the whole body, `""`) and says what is wrong.
    private static func checkErrors(_ failure: ValidationFailure, for value: JSONValue, input: [UInt8]) throws(FuzzFailure) {
        try Fuzz.check(!failure.errors.isEmpty, "validation failed without an error", input: input)
        let object = value.objectValue
        for error in failure.errors {
            try Fuzz.check(!error.message.isEmpty, "error for \(error.pointer) without a message", input: input)
            if error.pointer.isEmpty {
                try Fuzz.check(object == nil || object!.isEmpty, "whole-body error for a non-empty object: \(error.message)", input: input)
                continue
            }
            let named = object?.keys.contains { "/" + pointerEscaped(String($0.prefix(64))) == error.pointer } ?? false
            let required = error.pointer == "/title" && error.message == "is required"
            try Fuzz.check(named || required, "error pointer \(error.pointer) names no member of the body", input: input)
        }
        if let object, !object.isEmpty, object.keys.allSatisfy(TaskValidation.fields.contains) {
            try Fuzz.check(failure.errors.allSatisfy { TaskValidation.fields.map { "/" + $0 }.contains($0.pointer) },
                           "errors \(failure.errors) for a body of known fields", input: input)
        }
    }

    private static func checkValid(_ task: NewTask, from value: JSONValue, input: [UInt8]) throws(FuzzFailure) {
        let object = value.objectValue
        try Fuzz.check(object?["title"]?.stringValue == task.title, "title \(task.title) is not the body's", input: input)
        try checkText(task.title, max: TaskValidation.maxTitleLength, input: input)
        try Fuzz.check(!task.title.unicodeScalars.allSatisfy(\.properties.isWhitespace), "blank title accepted", input: input)
        if let description = task.description { try checkText(description, max: TaskValidation.maxDescriptionLength, input: input) }
        let rendered = (try? JSONParser.parse(JSONWriter.bytes(json(task)))) ?? .null
        let again = Result { () throws(ValidationFailure) in try TaskValidation.newTask(from: rendered) }
        try Fuzz.check(again == .success(task), "task does not round-trip through JSON: \(again)", input: input)
        if let dueAt = task.dueAt {
            try Fuzz.check(Timestamp(rfc3339: dueAt.rfc3339) == dueAt, "due_at \(dueAt.rfc3339) does not round-trip", input: input)
        }
    }

    private static func checkValid(_ patch: TaskPatch, from value: JSONValue, input: [UInt8]) throws(FuzzFailure) {
        let object = value.objectValue ?? JSONObject()
        try Fuzz.check(!object.isEmpty, "empty patch accepted", input: input)
        try Fuzz.check((patch.title != nil) == (object["title"] != nil), "patch title presence differs from the body", input: input)
        try Fuzz.check((patch.description != nil) == (object["description"] != nil), "patch description presence differs", input: input)
        if let title = patch.title { try checkText(title, max: TaskValidation.maxTitleLength, input: input) }
        var rendered = JSONObject()
        if let title = patch.title { rendered["title"] = .string(title) }
        if let description = patch.description { rendered["description"] = description.map(JSONValue.string) ?? .null }
        if let status = patch.status { rendered["status"] = .string(status.rawValue) }
        if let dueAt = patch.dueAt { rendered["due_at"] = dueAt.map { .string($0.rfc3339) } ?? .null }
        let reparsed = (try? JSONParser.parse(JSONWriter.bytes(.object(rendered)))) ?? .null
        let again = Result { () throws(ValidationFailure) in try TaskValidation.patch(from: reparsed) }
        try Fuzz.check(again == .success(patch), "patch does not round-trip through JSON: \(again)", input: input)
    }

    private static func checkText(_ text: String, max: Int, input: [UInt8]) throws(FuzzFailure) {
        try Fuzz.check(!text.unicodeScalars.contains("\u{0}"), "text with NUL accepted", input: input)
        try Fuzz.check(text.unicodeScalars.count <= max, "text of \(text.unicodeScalars.count) characters accepted", input: input)
    }

    /// Number accessors never trap, and agree where both apply.
    private static func checkNumbers(in value: JSONValue, input: [UInt8]) throws(FuzzFailure) {
        switch value {
        case .number:
            let double = value.doubleValue
            if let int = value.intValue, int.magnitude < 1 << 53 {
                try Fuzz.check(double == Double(int), "\(value) is the integer \(int) but the double \(String(describing: double))", input: input)
            }
        case .array(let items):
            for item in items { try checkNumbers(in: item, input: input) }
        case .object(let object):
            for member in object.members { try checkNumbers(in: member.value, input: input) }
        default:
            break
        }
    }

    private static func json(_ task: NewTask) -> JSONValue {
        .object(JSONObject([
            "title": .string(task.title),
            "description": task.description.map(JSONValue.string) ?? .null,
            "status": .string(task.status.rawValue),
            "due_at": task.dueAt.map { .string($0.rfc3339) } ?? .null,
        ]))
    }

    private static func pointerEscaped(_ key: String) -> String {
        key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }
}
