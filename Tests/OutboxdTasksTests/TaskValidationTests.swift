import Foundation
import OutboxdCore
import OutboxdHTTP
import Testing
@testable import OutboxdTasks

@Suite struct TaskValidationTests {
    func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    @Test func validCreateBody() throws {
        let task = try TaskValidation.newTask(from: parse(#"{"title":"Write","description":"d","status":"in_progress","due_at":"2026-01-02T03:04:05+01:00"}"#))
        #expect(task.title == "Write")
        #expect(task.description == "d")
        #expect(task.status == .inProgress)
        #expect(task.dueAt == Timestamp(rfc3339: "2026-01-02T02:04:05Z"))
    }

    @Test func nullsAreAllowedForOptionalFields() throws {
        let task = try TaskValidation.newTask(from: parse(#"{"title":"x","description":null,"due_at":null}"#))
        #expect(task.description == nil)
        #expect(task.dueAt == nil)
        #expect(task.status == .todo)
    }

    @Test(arguments: [
        (#"{}"#, ["/title"]),
        (#"[]"#, [""]),
        (#"{"title":""}"#, ["/title"]),
        (#"{"title":"   "}"#, ["/title"]),
        (#"{"title":5}"#, ["/title"]),
        (#"{"title":"x","extra":1}"#, ["/extra"]),
        (#"{"title":"x","status":"later"}"#, ["/status"]),
        (#"{"title":"x","due_at":"tomorrow"}"#, ["/due_at"]),
        (#"{"title":"x","due_at":"2026-01-02T03:04:05"}"#, ["/due_at"]),
        (#"{"title":"x","description":7}"#, ["/description"]),
        (#"{"title":"a\u0000b"}"#, ["/title"]),
        (#"{"title":5,"status":1,"a/b":true}"#, ["/a~1b", "/title", "/status"]),
    ])
    func invalidCreateBodiesNameEachField(body: String, pointers: [String]) throws {
        do {
            _ = try TaskValidation.newTask(from: parse(body))
            Issue.record("accepted \(body)")
        } catch let error as ValidationFailure {
            #expect(error.errors.map(\.pointer) == pointers)
        }
    }

    /// A body of thousands of unknown members gets a bounded answer, not one error per member.
    @Test func unknownFieldsAreListedUpToALimit() throws {
        let members = (0..<500).map { "\"k\($0)\":1" }.joined(separator: ",")
        do {
            _ = try TaskValidation.newTask(from: parse("{\"title\":\"x\",\(members)}"))
            Issue.record("accepted unknown fields")
        } catch let error as ValidationFailure {
            #expect(error.errors.count == 21)
            #expect(error.errors.first?.pointer == "/k0")
            #expect(error.errors.last?.message == "and 480 more unknown fields")
        }
    }

    @Test func lengthLimitsCountCharactersNotBytes() throws {
        let atLimit = String(repeating: "é", count: TaskValidation.maxTitleLength)
        #expect(try TaskValidation.newTask(from: .object(JSONObject(["title": .string(atLimit)]))).title == atLimit)
        #expect(throws: ValidationFailure.self) {
            try TaskValidation.newTask(from: .object(JSONObject(["title": .string(atLimit + "é")])))
        }
    }

    @Test func patchDistinguishesAbsentFromNull() throws {
        let patch = try TaskValidation.patch(from: parse(#"{"description":null,"status":"done"}"#))
        #expect(patch.title == nil)
        #expect(patch.description == .some(nil))
        #expect(patch.status == .done)
        #expect(patch.dueAt == nil)
    }

    @Test func emptyPatchIsRefused() throws {
        #expect(throws: ValidationFailure.self) { try TaskValidation.patch(from: parse("{}")) }
    }

    @Test func fingerprintIgnoresKeyOrderAndDefaults() throws {
        let a = try TaskValidation.newTask(from: parse(#"{"title":"x","status":"todo"}"#))
        let b = try TaskValidation.newTask(from: parse(#"{"status":"todo","title":"x"}"#))
        let c = try TaskValidation.newTask(from: parse(#"{"title":"x"}"#))
        let d = try TaskValidation.newTask(from: parse(#"{"title":"y"}"#))
        #expect(a.fingerprint == b.fingerprint)
        #expect(a.fingerprint == c.fingerprint)
        #expect(a.fingerprint != d.fingerprint)
    }

    @Test func cursorRoundTripsAndRejectsGarbage() throws {
        let cursor = TaskCursor(createdAt: .instant(Timestamp(microsecondsSinceEpoch: 1_764_000_000_123_456)), id: UUID())
        #expect(TaskCursor(token: cursor.token) == cursor)
        #expect(TaskCursor(token: "not-a-cursor") == nil)
        #expect(TaskCursor(token: "") == nil)
        #expect(TaskCursor(token: String(repeating: "A", count: 500)) == nil)
        for stored in ["infinity", "-infinity", "0044-03-15 12:00:00+00 BC", "4714-11-24 00:00:00+00 BC", "10000-01-01 00:00:00.5+00",
                       "294276-12-31 23:59:59.999999+00", "0001-02-29 00:00:00+00 BC"] {
            let odd = TaskCursor(createdAt: .outOfRange(stored), id: UUID())
            #expect(TaskCursor(token: odd.token) == odd, "\(stored)")
            #expect(StoredTime(postgresText: stored) == .outOfRange(stored))
        }
        for refused in ["infinity ", "4714-11-23 23:59:59+00 BC", "294277-01-01 00:00:00+00", "9999-12-31 00:00:00+00 BC0", "2026-01-01 00:00:00+00",
                        "0002-02-29 00:00:00+00 BC", "10000-01-01 00:00:00+01", "10000-13-01 00:00:00+00", "10000-01-01 24:00:00+00", "10000-01-01 00:00:00.1234567+00"] {
            #expect(!StoredTime.isOutOfRangeSpelling(refused), "\(refused)")
        }
        #expect(StoredTime(postgresText: "2026-01-01 00:00:00+00") == .instant(Timestamp(rfc3339: "2026-01-01T00:00:00Z")!))
    }

    @Test(arguments: [("abc-123", true), ("", false), ("has space", false), (String(repeating: "k", count: 201), false), ("ünï", false)])
    func idempotencyKeys(key: String, valid: Bool) {
        #expect(TaskRoutes.isValidIdempotencyKey(key) == valid)
    }

    /// If-Match uses the strong comparison (RFC 9110 §13.1.1): a weak ETag never matches, so it
    /// contributes no version; `*` (nil) lets any version through.
    @Test(arguments: [(nil, nil), ("\"3\"", [3]), ("W/\"4\"", []), ("*", nil), (" * ", nil), ("\"1\", W/\"1\"", [1]),
                      ("W/\"2\", \"1\"", [1]), (" \"1\" ,\t\"2\" ", [1, 2]), (",\"5\",", [5]), ("\"2147483648\"", [2147483648])] as [(String?, [Int]?)])
    func ifMatchParsing(header: String?, versions: [Int]?) throws {
        let request = HTTPRequest(method: "PATCH", path: "/tasks/x", headers: HTTPHeaders(header.map { [("If-Match", $0)] } ?? []))
        #expect(try TaskRoutes.ifMatchVersions(request) == versions)
    }

    @Test(arguments: ["3", "\"x\"", "\"0\"", "\"03\"", "\"+3\"", "\"-1\"", "W/\"x\"", "\"1\", \"x\"", "*, \"1\"", "\"1\", *", "w/\"1\"", "", ",",
                      "\"9223372036854775808\""])
    func ifMatchRejectsNonVersions(header: String) {
        let request = HTTPRequest(method: "PATCH", path: "/tasks/x", headers: HTTPHeaders([("If-Match", header)]))
        #expect(throws: ResponseError.self) { try TaskRoutes.ifMatchVersions(request) }
    }
}
