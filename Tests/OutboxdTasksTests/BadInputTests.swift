import Foundation
import OutboxdTestSupport
import Testing

/// G7: every bad request gets a precise 4xx problem and changes no row.
@Suite struct BadInputTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let method: String
        let path: String
        let headers: [(String, String)]
        let body: String?
        let status: Int
        let mentions: String
        var testDescription: String { name }
    }

    static let json = [("Content-Type", "application/json")]

    /// One API for the cases that must write nothing, shared so the corpus stays fast; its tables
    /// stay empty for the whole run, so any row is a failure. It runs until the test process ends.
    nonisolated(unsafe) static let unwritten = Result { try APIFixture(parts: [.api]) }

    static let cases: [Case] = [
        Case(name: "malformed JSON", method: "POST", path: "/tasks", headers: json, body: #"{"title": }"#, status: 400, mentions: "malformed JSON"),
        Case(name: "truncated JSON", method: "POST", path: "/tasks", headers: json, body: #"{"title": "x""#, status: 400, mentions: "malformed JSON"),
        Case(name: "duplicate key", method: "POST", path: "/tasks", headers: json, body: #"{"title":"a","title":"b"}"#, status: 400, mentions: "title"),
        Case(name: "deep nesting", method: "POST", path: "/tasks", headers: json, body: String(repeating: "[", count: 5000), status: 400, mentions: "deep"),
        Case(name: "empty body", method: "POST", path: "/tasks", headers: json, body: "", status: 400, mentions: "malformed JSON"),
        Case(name: "wrong content type", method: "POST", path: "/tasks", headers: [("Content-Type", "text/plain")], body: #"{"title":"x"}"#, status: 415, mentions: "application/json"),
        Case(name: "no content type", method: "POST", path: "/tasks", headers: [], body: #"{"title":"x"}"#, status: 415, mentions: "application/json"),
        Case(name: "unknown field", method: "POST", path: "/tasks", headers: json, body: #"{"title":"x","owner":"me"}"#, status: 422, mentions: "/owner"),
        Case(name: "wrong type", method: "POST", path: "/tasks", headers: json, body: #"{"title":["x"]}"#, status: 422, mentions: "/title"),
        Case(name: "empty title", method: "POST", path: "/tasks", headers: json, body: #"{"title":""}"#, status: 422, mentions: "/title"),
        Case(name: "over-long title", method: "POST", path: "/tasks", headers: json, body: "{\"title\":\"\(String(repeating: "x", count: 201))\"}", status: 422, mentions: "at most 200"),
        Case(name: "bad timestamp", method: "POST", path: "/tasks", headers: json, body: #"{"title":"x","due_at":"2026-02-30T10:00:00Z"}"#, status: 422, mentions: "/due_at"),
        Case(name: "huge number", method: "POST", path: "/tasks", headers: json, body: #"{"title":1e999999}"#, status: 422, mentions: "/title"),
        Case(name: "NUL in title", method: "POST", path: "/tasks", headers: json, body: #"{"title":"a\u0000"}"#, status: 422, mentions: "NUL"),
        Case(name: "not an object", method: "POST", path: "/tasks", headers: json, body: #""title""#, status: 422, mentions: "JSON object"),
        Case(name: "bad idempotency key", method: "POST", path: "/tasks", headers: json + [("Idempotency-Key", "a b")], body: #"{"title":"x"}"#, status: 400, mentions: "Idempotency-Key"),
        Case(name: "unknown route", method: "GET", path: "/nope", headers: [], body: nil, status: 404, mentions: "no route"),
        Case(name: "non-UUID id", method: "GET", path: "/tasks/123", headers: [], body: nil, status: 404, mentions: "UUID"),
        Case(name: "unknown id", method: "PATCH", path: "/tasks/5d2f3a52-1d7e-4a39-9f4f-4c4a8f2b0c11", headers: json, body: #"{"title":"x"}"#, status: 404, mentions: "no task"),
        Case(name: "wrong method", method: "PUT", path: "/tasks", headers: json, body: "{}", status: 405, mentions: "allowed"),
        Case(name: "bad status filter", method: "GET", path: "/tasks?status=soon", headers: [], body: nil, status: 400, mentions: "status"),
        Case(name: "bad limit", method: "GET", path: "/tasks?limit=1000", headers: [], body: nil, status: 400, mentions: "limit"),
        Case(name: "bad cursor", method: "GET", path: "/tasks?after=zzz", headers: [], body: nil, status: 400, mentions: "after"),
        Case(name: "unknown parameter", method: "GET", path: "/tasks?sort=title", headers: [], body: nil, status: 400, mentions: "sort"),
        // Found by the HTTP fuzz target: forged cursors past year 9999 or before year 1 gave 500.
        Case(name: "cursor at Int64.max µs", method: "GET", path: "/tasks?after=OTIyMzM3MjAzNjg1NDc3NTgwNywwMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA",
             headers: [], body: nil, status: 400, mentions: "after"),
        Case(name: "cursor at Int64.min µs", method: "GET", path: "/tasks?after=LTkyMjMzNzIwMzY4NTQ3NzU4MDgsMDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw",
             headers: [], body: nil, status: 400, mentions: "after"),
        Case(name: "cursor in year 10000", method: "GET", path: "/tasks?after=MjUzNDAyMzAwODAwMDAwMDAwLDAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMA",
             headers: [], body: nil, status: 400, mentions: "after"),
        // Cursors after rows other writers dated outside RFC 3339 carry PostgreSQL's spelling: only
        // positions PostgreSQL accepts back pass (a year past 294276, before 4714 BC, or in 0001–9999).
        Case(name: "cursor text in year 99999999", method: "GET", path: "/tasks?after=dDo5OTk5OTk5OS0wMS0wMSAwMDowMDowMCswMCwwMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA",
             headers: [], body: nil, status: 400, mentions: "after"),
        Case(name: "cursor text in 4715 BC", method: "GET", path: "/tasks?after=dDo0NzE1LTAxLTAxIDAwOjAwOjAwKzAwIEJDLDAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMA",
             headers: [], body: nil, status: 400, mentions: "after"),
        Case(name: "cursor text in year 294277", method: "GET", path: "/tasks?after=dDoyOTQyNzctMDEtMDEgMDA6MDA6MDArMDAsMDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw",
             headers: [], body: nil, status: 400, mentions: "after"),
        Case(name: "cursor text in range", method: "GET", path: "/tasks?after=dDoyMDI2LTAxLTAxIDAwOjAwOjAwKzAwLDAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMA",
             headers: [], body: nil, status: 400, mentions: "after"),
        Case(name: "cursor text with SQL", method: "GET", path: "/tasks?after=dDppbmZpbml0eSc7IERST1AgVEFCTEUgdGFza3MsMDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw",
             headers: [], body: nil, status: 400, mentions: "after"),
        Case(name: "empty patch", method: "PATCH", path: "/tasks/5d2f3a52-1d7e-4a39-9f4f-4c4a8f2b0c11", headers: json, body: "{}", status: 422, mentions: "no field"),
        // Repeated singleton headers: the first no longer wins silently.
        Case(name: "two Content-Types", method: "POST", path: "/tasks", headers: json + [("Content-Type", "text/plain")], body: #"{"title":"x"}"#,
             status: 400, mentions: "Content-Type header appears more than once"),
        Case(name: "two Idempotency-Keys", method: "POST", path: "/tasks", headers: json + [("Idempotency-Key", "a"), ("Idempotency-Key", "b")],
             body: #"{"title":"x"}"#, status: 400, mentions: "Idempotency-Key"),
        Case(name: "two If-Matches", method: "DELETE", path: "/tasks/5d2f3a52-1d7e-4a39-9f4f-4c4a8f2b0c11", headers: [("If-Match", "\"1\""), ("If-Match", "\"2\"")],
             body: nil, status: 400, mentions: "If-Match"),
        Case(name: "bad If-Match", method: "DELETE", path: "/tasks/5d2f3a52-1d7e-4a39-9f4f-4c4a8f2b0c11", headers: [("If-Match", "v1")], body: nil, status: 400, mentions: "If-Match"),
        Case(name: "lone high surrogate", method: "POST", path: "/tasks", headers: json, body: #"{"title":"\ud800"}"#, status: 400, mentions: "surrogate"),
        Case(name: "lone low surrogate", method: "POST", path: "/tasks", headers: json, body: #"{"title":"a\udc00"}"#, status: 400, mentions: "surrogate"),
        Case(name: "reversed surrogates", method: "POST", path: "/tasks", headers: json, body: #"{"title":"\udc00\ud800"}"#, status: 400, mentions: "surrogate"),
        Case(name: "invalid escape", method: "POST", path: "/tasks", headers: json, body: #"{"title":"\x41"}"#, status: 400, mentions: "escape"),
        Case(name: "raw control character", method: "POST", path: "/tasks", headers: json, body: "{\"title\":\"a\u{1}b\"}", status: 400, mentions: "control character"),
        Case(name: "raw newline in a string", method: "POST", path: "/tasks", headers: json, body: "{\"title\":\"a\nb\"}", status: 400, mentions: "control character"),
        Case(name: "trailing garbage", method: "POST", path: "/tasks", headers: json, body: #"{"title":"x"} x"#, status: 400, mentions: "after the JSON value"),
        Case(name: "two values", method: "POST", path: "/tasks", headers: json, body: #"{"title":"x"}{"title":"y"}"#, status: 400, mentions: "after the JSON value"),
        Case(name: "trailing comma", method: "POST", path: "/tasks", headers: json, body: #"{"title":"x",}"#, status: 400, mentions: "trailing commas"),
        Case(name: "number over 64 characters", method: "POST", path: "/tasks", headers: json, body: "{\"title\":\(String(repeating: "9", count: 65))}", status: 400, mentions: "longer than 64"),
        Case(name: "deep nesting in a field", method: "POST", path: "/tasks", headers: json, body: "{\"title\":" + String(repeating: "[", count: 40), status: 400, mentions: "deep"),
        Case(name: "deep object nesting", method: "POST", path: "/tasks", headers: json, body: String(repeating: #"{"a":"#, count: 40), status: 400, mentions: "deep"),
        Case(name: "null body", method: "POST", path: "/tasks", headers: json, body: "null", status: 422, mentions: "JSON object, not null"),
        Case(name: "array body", method: "POST", path: "/tasks", headers: json, body: #"[{"title":"x"}]"#, status: 422, mentions: "JSON object, not array"),
        Case(name: "blank title", method: "POST", path: "/tasks", headers: json, body: #"{"title":" \t\u3000"}"#, status: 422, mentions: "/title: must not be empty"),
        Case(name: "missing title", method: "POST", path: "/tasks", headers: json, body: #"{"status":"done"}"#, status: 422, mentions: "/title: is required"),
        Case(name: "-0 as due_at", method: "POST", path: "/tasks", headers: json, body: #"{"title":"x","due_at":-0}"#, status: 422, mentions: "/due_at"),
        Case(name: "1e309 as due_at", method: "POST", path: "/tasks", headers: json, body: #"{"title":"x","due_at":1e309}"#, status: 422, mentions: "/due_at"),
        Case(name: "due_at without a zone", method: "POST", path: "/tasks", headers: json, body: #"{"title":"x","due_at":"2026-01-01T10:00:00"}"#, status: 422, mentions: "/due_at"),
        Case(name: "due_at past year 9999 in UTC", method: "POST", path: "/tasks", headers: json, body: #"{"title":"x","due_at":"9999-12-31T23:59:59-01:00"}"#, status: 422, mentions: "/due_at"),
        Case(name: "number as description", method: "POST", path: "/tasks", headers: json, body: #"{"title":"x","description":5}"#, status: 422, mentions: "/description: must be a string or null, not number"),
        Case(name: "bool as status", method: "POST", path: "/tasks", headers: json, body: #"{"title":"x","status":true}"#, status: 422, mentions: "/status"),
        Case(name: "unknown status", method: "POST", path: "/tasks", headers: json, body: #"{"title":"x","status":"later"}"#, status: 422, mentions: "/status: must be one of todo, in_progress, done"),
        Case(name: "over-long description", method: "POST", path: "/tasks", headers: json, body: "{\"title\":\"x\",\"description\":\"\(String(repeating: "d", count: 10_001))\"}", status: 422, mentions: "/description: must be at most 10000"),
        Case(name: "very long unknown key", method: "POST", path: "/tasks", headers: json, body: "{\"title\":\"x\",\"\(String(repeating: "k", count: 60_000))\":1}", status: 422, mentions: "/\(String(repeating: "k", count: 64)): is not a known field"),
        Case(name: "every field wrong", method: "POST", path: "/tasks", headers: json, body: #"{"title":1,"description":[],"status":{},"due_at":false}"#, status: 422, mentions: "/title: must be a string, not number; /description"),
    ]

    @Test(arguments: cases)
    func badRequestGetsAProblemAndWritesNothing(_ bad: Case) throws {
        let api = try Self.unwritten.get()
        let response = try api.client().request(bad.method, bad.path, headers: bad.headers, body: bad.body.map { Array($0.utf8) })
        #expect(response.status == bad.status, "\(response.text)")
        #expect(response.header("Content-Type") == "application/problem+json")
        let problem = try response.json().objectValue
        #expect(problem?["status"]?.intValue == bad.status)
        #expect(problem?["detail"]?.stringValue?.contains(bad.mentions) == true, "\(response.text)")
        if bad.status == 405 { #expect(response.header("Allow") == "POST, GET, HEAD") }
        #expect(try api.counts() == (0, 0))
    }

    @Test(arguments: [
        [UInt8]("{\"title\":\"".utf8) + [0xC3, 0x28] + [UInt8]("\"}".utf8),   // invalid UTF-8
        [UInt8]("{\"title\":\"".utf8) + [0xED, 0xA0, 0x80] + [UInt8]("\"}".utf8), // UTF-8 encoded surrogate
        [UInt8]("{\"title\":\"a".utf8) + [0x00] + [UInt8]("b\"}".utf8),       // raw NUL byte
        [UInt8]("{\"title\":\"".utf8) + [0xC0, 0xAF] + [UInt8]("\"}".utf8),   // overlong "/"
        [UInt8]("{\"title\":\"".utf8) + [0xE0, 0x80, 0xAF] + [UInt8]("\"}".utf8), // overlong, 3 bytes
        [UInt8]("{\"title\":\"".utf8) + [0xF4, 0x90, 0x80, 0x80] + [UInt8]("\"}".utf8), // past U+10FFFF
        [UInt8]("{\"title\":\"".utf8) + [0x80] + [UInt8]("\"}".utf8),         // lone continuation byte
        [UInt8]("{\"title\":\"".utf8) + [0xFF] + [UInt8]("\"}".utf8),         // never valid
        [UInt8]("{\"title\":\"".utf8) + [0xE2, 0x82],                        // truncated sequence at the end
        [0xEF, 0xBB, 0xBF] + [UInt8]("{\"title\":\"x\"}".utf8),                // byte order mark
        [UInt8]("{\"title\":\"x\"}".utf8) + [0x00],                            // NUL after the value
    ])
    func invalidBytesGet400(body: [UInt8]) throws {
        let api = try Self.unwritten.get()
        let response = try api.client().request("POST", "/tasks", headers: Self.json, body: body)
        #expect(response.status == 400)
        #expect(response.text.contains("malformed JSON"))
        #expect(try api.counts() == (0, 0))
    }

    @Test func declaredBodyOverTheLimitGets413() throws {
        let api = try APIFixture { $0.http.maxBodyBytes = 1024 }
        let body = Array("{\"title\":\"\(String(repeating: "x", count: 2000))\"}".utf8)
        let response = try api.client().request("POST", "/tasks", headers: Self.json, body: body)
        #expect(response.status == 413)
        #expect(response.header("Content-Type") == "application/problem+json")
        #expect(try api.counts() == (0, 0))
    }

    @Test func chunkedBodyOverTheLimitGets413() throws {
        let api = try APIFixture { $0.http.maxBodyBytes = 1024 }
        let client = try api.client()
        var raw = "POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        for _ in 0..<4 { raw += "200\r\n" + String(repeating: "x", count: 512) + "\r\n" }
        raw += "0\r\n\r\n"
        try client.send(Array(raw.utf8))
        let response = try client.readResponse()
        #expect(response.status == 413)
        #expect(try api.counts() == (0, 0))
    }

    @Test func tenMegabyteBodyIsRefusedWithoutReadingIt() throws {
        let api = try Self.unwritten.get()
        let client = try api.client()
        try client.send(Array("POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10485760\r\n\r\n".utf8))
        let response = try client.readResponse()
        #expect(response.status == 413)
        #expect(client.isClosedByServer())
        #expect(try api.counts() == (0, 0))
    }

    @Test func headersOverTheLimitAreRefused() throws {
        let api = try Self.unwritten.get()
        let response = try api.client().request("GET", "/healthz", headers: [("X-Big", String(repeating: "h", count: 40_000))])
        #expect((400...499).contains(response.status))
    }

    @Test func garbageRequestLineGetsA4xxOrAClose() throws {
        let api = try Self.unwritten.get()
        let client = try api.client()
        try client.send(Array("\u{1}\u{2}GARBAGE\r\n\r\n".utf8))
        if let response = try? client.readResponse() {
            #expect((400...499).contains(response.status))
        }
        // The daemon still serves.
        #expect(try api.client().request("GET", "/healthz").status == 200)
        #expect(try api.counts() == (0, 0))
    }
}
