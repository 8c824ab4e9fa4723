import Foundation
import OutboxdCore
import OutboxdPostgres
import OutboxdTestSupport
import Testing

/// tasks rows another service wrote with SQL holding times RFC 3339 cannot express (`infinity`,
/// `-infinity`, BC, year 10000): every endpoint answers without a 5xx, the field is null and
/// `out_of_range` names it with PostgreSQL's spelling, and the events say the same.
@Suite struct OddTimestampTests {
    struct OddRow {
        let id = UUID()
        let title: String
        let dueAt: String?
        var createdAt = "now()"
        var updatedAt = "now()"
    }

    static let rows = [
        OddRow(title: "due never", dueAt: "infinity"),
        OddRow(title: "due always", dueAt: "-infinity"),
        OddRow(title: "due in 44 BC", dueAt: "0044-03-15 12:00:00+00 BC"),
        OddRow(title: "due in 10000", dueAt: "10000-01-01 00:00:00+00"),
        OddRow(title: "created at infinity", dueAt: nil, createdAt: "'infinity'", updatedAt: "'infinity'"),
        OddRow(title: "created at -infinity", dueAt: nil, createdAt: "'-infinity'"),
        OddRow(title: "created in 44 BC", dueAt: nil, createdAt: "'0044-03-15 12:00:00.5+00 BC'"),
        OddRow(title: "created in 10000", dueAt: nil, createdAt: "'10000-01-01 00:00:00+00'"),
    ]

    /// Writes `rows` as another service could have before migration 0009: its NOT VALID checks are
    /// dropped for the insert and added again as they were.
    static func writeWithSQL(_ rows: [OddRow], into database: TestDatabase) throws {
        let connection = try database.connect()
        defer { connection.close() }
        let constraints = try connection.query("""
            SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint
            WHERE conrelid = 'tasks'::regclass AND conname LIKE 'tasks\\_%\\_in\\_range' ORDER BY conname
            """).map { (try $0.require(String.self, "conname"), try $0.require(String.self, "definition")) }
        #expect(constraints.count == 3)
        try connection.transaction {
            for (name, _) in constraints { try connection.executeScript("ALTER TABLE tasks DROP CONSTRAINT \(name)") }
            for row in rows {
                // created_at and updated_at are expressions of this test's own table above, never input.
                try connection.query("INSERT INTO tasks (id, title, due_at, created_at, updated_at) VALUES ($1, $2, $3::timestamptz, \(row.createdAt), \(row.updatedAt))",
                                     [row.id, row.title, row.dueAt])
            }
            for (name, definition) in constraints { try connection.executeScript("ALTER TABLE tasks ADD CONSTRAINT \(name) \(definition)") }
        }
    }

    static func outOfRange(_ item: JSONValue?) -> [String: String] {
        var fields: [String: String] = [:]
        for member in item?.objectValue?["out_of_range"]?.objectValue?.members ?? [] { fields[member.key] = member.value.stringValue }
        return fields
    }

    @Test func everyPageAndEveryTaskIsServedWithTheOddFieldNamed() throws {
        let api = try APIFixture(parts: [.api])
        let client = try api.client()
        for n in 0..<2 { #expect(try client.json("POST", "/tasks", #"{"title":"normal \#(n)"}"#).status == 201) }
        try Self.writeWithSQL(Self.rows, into: api.database)

        var items: [JSONValue] = []
        var path = "/tasks?limit=3"
        for _ in 0..<10 {
            let page = try client.request("GET", path)
            #expect(page.status == 200, "\(path): \(page.text)")
            let body = try page.json().objectValue
            items += body?["items"]?.arrayValue ?? []
            guard let next = body?["next_after"]?.stringValue else { break }
            path = "/tasks?limit=3&after=\(next)"
        }
        let titles = items.compactMap { $0.objectValue?["title"]?.stringValue }
        #expect(titles.count == 10)
        #expect(Set(titles).count == 10)
        // Keyset order is created_at's: -infinity and BC first, 10000 and infinity last.
        #expect(titles.prefix(2) == ["created at -infinity", "created in 44 BC"])
        #expect(titles.suffix(2) == ["created in 10000", "created at infinity"])

        let expected: [String: [String: String]] = [
            "due never": ["due_at": "infinity"], "due always": ["due_at": "-infinity"],
            "due in 44 BC": ["due_at": "0044-03-15 12:00:00+00 BC"], "due in 10000": ["due_at": "10000-01-01 00:00:00+00"],
            "created at infinity": ["created_at": "infinity", "updated_at": "infinity"], "created at -infinity": ["created_at": "-infinity"],
            "created in 44 BC": ["created_at": "0044-03-15 12:00:00.5+00 BC"], "created in 10000": ["created_at": "10000-01-01 00:00:00+00"],
            "normal 0": [:], "normal 1": [:],
        ]
        for item in items {
            let object = try #require(item.objectValue)
            let title = try #require(object["title"]?.stringValue)
            #expect(Self.outOfRange(item) == expected[title], "\(title)")
            for field in ["due_at", "created_at", "updated_at"] where expected[title]?[field] != nil {
                #expect(object[field] == .null, "\(title) \(field)")
            }
        }
        for row in Self.rows {
            let one = try client.request("GET", "/tasks/\(row.id.lowercaseString)")
            #expect(one.status == 200, "\(one.text)")
            #expect(Self.outOfRange(try one.json()) == expected[row.title])
            #expect(try client.request("GET", "/tasks/\(row.id.lowercaseString)/history").status == 200)
        }
    }

    @Test func changesOfOddRowsAreAnsweredAndTheirEventsNameTheOddField() throws {
        let api = try APIFixture(parts: [.api])
        let client = try api.client()
        try Self.writeWithSQL(Self.rows, into: api.database)
        let byTitle = Dictionary(uniqueKeysWithValues: Self.rows.map { ($0.title, $0.id.lowercaseString) })

        // A change that keeps an odd due_at is refused, naming it; nothing is written.
        let kept = try client.json("PATCH", "/tasks/\(byTitle["due never"]!)", #"{"title":"renamed"}"#)
        #expect(kept.status == 409, "\(kept.text)")
        #expect(kept.header("Content-Type") == "application/problem+json")
        #expect(try kept.json().objectValue?["detail"]?.stringValue?.contains("due_at holds infinity") == true, "\(kept.text)")
        #expect(try api.counts() == (8, 0))
        #expect(try api.database.count("tasks", where: "title = 'due never' AND version = 1") == 1)
        // Replacing it works.
        let replaced = try client.json("PATCH", "/tasks/\(byTitle["due never"]!)", #"{"due_at":"2030-01-01T00:00:00Z"}"#)
        #expect(replaced.status == 200, "\(replaced.text)")
        #expect(try replaced.string("due_at") == "2030-01-01T00:00:00.000000Z")
        #expect(Self.outOfRange(try replaced.json()).isEmpty)
        // created_at cannot be changed through the API.
        let created = try client.json("PATCH", "/tasks/\(byTitle["created in 10000"]!)", #"{"status":"done"}"#)
        #expect(created.status == 409, "\(created.text)")
        #expect(try created.json().objectValue?["detail"]?.stringValue?.contains("created_at holds 10000-01-01 00:00:00+00") == true, "\(created.text)")
        #expect(try api.counts() == (8, 1))

        // DELETE works, and its event names the odd field like the API does.
        #expect(try client.request("DELETE", "/tasks/\(byTitle["due in 44 BC"]!)").status == 204)
        #expect(try client.request("DELETE", "/tasks/\(byTitle["created at infinity"]!)").status == 204)
        let connection = try api.database.connect()
        let events = try connection.query("""
            SELECT payload->'task'->>'title' AS title, payload->'task'->'due_at' AS due_at, payload->'task'->'created_at' AS created_at,
                   (payload->'task'->'out_of_range')::text AS out_of_range
            FROM outbox WHERE event_type = 'task.deleted' ORDER BY id
            """)
        #expect(events.count == 2)
        #expect(try events[0].require(String.self, "title") == "due in 44 BC")
        #expect(try events[0].require(String.self, "due_at") == "null")
        #expect(try events[0].require(String.self, "out_of_range") == #"{"due_at": "0044-03-15 12:00:00+00 BC"}"#)
        #expect(try events[1].require(String.self, "created_at") == "null")
        #expect(try events[1].require(String.self, "out_of_range") == #"{"created_at": "infinity", "updated_at": "infinity"}"#)
        #expect(try api.counts() == (6, 3))

        // A new SQL write of such a value is refused by PostgreSQL, naming the constraint.
        do {
            try connection.query("INSERT INTO tasks (title, due_at) VALUES ('x', 'infinity')")
            Issue.record("an infinite due_at was written")
        } catch let error as PostgresError {
            #expect(error.code == .checkViolation)
            #expect(error.constraint == "tasks_due_at_in_range")
        }
    }
}
