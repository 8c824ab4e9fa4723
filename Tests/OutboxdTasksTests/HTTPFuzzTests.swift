import Foundation
import OutboxdCore
import OutboxdPostgres
import OutboxdTestSupport
import Testing

/// G7 end to end: random requests over raw sockets, one to three pipelined per connection, the
/// last sometimes byte-mutated anywhere. No answer is a 5xx (but 501 for a transfer coding the
/// server does not implement), every well-framed request is answered (4xx and 501 as problem+json), the rows written match the 2xx answers case by case, and the server
/// still serves afterwards.
@Suite struct HTTPFuzzTests {
    @Test func serverHoldsOnRandomRequests() throws {
        // libmicrohttpd closes a connection whose last read or write is older than the idle timeout
        // when it next looks at it; under a full suite on two cores its thread has gone unscheduled
        // long enough that a 2 s timeout closed connections whose requests were already in the
        // socket, unanswered (seen twice in clean-clone runs). Some half-closed cases end only at
        // this timeout, so it stays well under the exchange's own 10 s.
        let api = try APIFixture(parts: [.api]) { $0.http.idleTimeout = .seconds(5) }
        let database = try api.database.connect()
        defer { database.close() }
        var generator = HTTPRequestGenerator()
        var expected = Ledger()
        let report = Fuzz.run("http") { random in
            let count = random.int(1...3)
            let requests = (0..<count).map { index in generator.request(&random, raw: index == count - 1 && random.chance(25)) }
            // Framed requests are read until each has its answer; a raw one may say anything, so
            // the client half-closes and reads until the server closes.
            let halfClose = !requests.last!.isFramed
            let exchange = try RawExchange.run(port: api.daemon.httpPort, sending: requests.flatMap(\.bytes), halfClose: halfClose) { exchange in
                let responses = exchange.responses(methods: requests.map(\.method))
                return !halfClose && (responses.count == count || responses.last?.closesConnection == true)
            }
            try Self.check(requests, exchange, &expected, ids: &generator.ids, rows: Self.counts(database))
        }
        if let failure = report.failure { Issue.record(Comment(rawValue: failure)) }

        let client = try api.client()
        #expect(try client.json("POST", "/tasks", #"{"title":"after the fuzz"}"#).status == 201)
        #expect(try client.request("GET", "/healthz").status == 200)
        #expect(try Self.counts(database) == (expected.tasks + 1, expected.outbox + 1))
    }

    /// Every answer is below 500, every framed request is answered unless the connection was
    /// closed before it, and the rows are those the 2xx answers account for.
    private static func check(_ requests: [HTTPRequestGenerator.Request], _ exchange: RawExchange, _ expected: inout Ledger,
                              ids: inout [String], rows: @autoclosure () throws -> (tasks: Int, outbox: Int)) throws {
        let responses = exchange.responses(methods: requests.map(\.method))
        func require(_ condition: Bool, _ message: @autoclosure () -> String) throws(FuzzFailure) {
            let answers = responses.map { "\($0.status) \(String(decoding: $0.body.prefix(300), as: UTF8.self))" }
            try Fuzz.check(condition, "\(message())\nanswers: \(answers), ending: \(exchange.ending)\n(ids come from earlier cases, so a replay on a fresh server may differ; the bytes below are what was sent)",
                           input: requests.flatMap(\.bytes))
        }
        try require(exchange.ending == .complete || exchange.ending == .closed, "the exchange ended \(exchange.ending)")
        var closed = false
        for (index, request) in requests.enumerated() {
            let answers = request.isFramed ? Array(responses.dropFirst(index).prefix(1)) : Array(responses.dropFirst(index))
            if request.isFramed && answers.isEmpty {
                try require(closed || (request.manyCookies && exchange.ending == .closed), "request \(index + 1) of \(requests.count) got no answer")
                closed = true
            }
            for response in answers {
                let versionRefused = response.status == 505 && !request.isFramed && declaresAnotherVersion(request.bytes)
                let codingRefused = response.status == 501 && declaresAnotherTransferCoding(request.bytes)
                try require(response.status < 500 || versionRefused || codingRefused, "status \(response.status)")
                if request.isFramed && request.method != "HEAD" { try checkProblem(response, require) }
                expected.apply(request.effect, response, ids: &ids)
                closed = closed || response.closesConnection
            }
            closed = closed || request.asksToClose
        }
        let found = try rows()
        try require(found == (expected.tasks, expected.outbox), "rows (tasks, outbox) are \(found), the answers account for \((expected.tasks, expected.outbox))")
    }

    /// A 4xx is problem+json whose `status` is the code and whose `detail` says what is wrong,
    /// unless libmicrohttpd refused the request before the API saw it (its own HTML page, e.g. 431
    /// for a `Cookie` it cannot parse) and closes the connection.
    private static func checkProblem(_ response: RawExchange.Response, _ require: (Bool, @autoclosure () -> String) throws(FuzzFailure) -> Void) throws(FuzzFailure) {
        guard (400...499).contains(response.status) || response.status == 501 else { return }
        if response.header("Content-Type") == nil && response.closesConnection { return }
        try require(response.header("Content-Type") == "application/problem+json", "\(response.status) is not problem+json")
        let problem = (try? JSONParser.parse(response.body))?.objectValue
        try require(problem?["status"]?.intValue == response.status, "problem status is not \(response.status)")
        try require(problem?["detail"]?.stringValue?.isEmpty == false, "problem without a detail")
        if response.status == 422 {
            let errors = problem?["errors"]?.arrayValue ?? []
            let namesFields = !errors.isEmpty && errors.allSatisfy { $0.objectValue?["pointer"]?.stringValue != nil }
            let namesKey = problem?["detail"]?.stringValue?.hasPrefix("Idempotency-Key") == true
            try require(namesFields || namesKey, "422 names neither body fields nor the Idempotency-Key")
        }
    }

    private static func counts(_ database: PQConnection) throws -> (tasks: Int, outbox: Int) {
        let row = try database.query("SELECT (SELECT count(*) FROM tasks)::int, (SELECT count(*) FROM outbox)::int").first
        return (try row?.decode(Int.self, at: 0) ?? -1, try row?.decode(Int.self, at: 1) ?? -1)
    }

    /// The request line names a version other than HTTP/1.x, which libmicrohttpd answers with 505.
    private static func declaresAnotherVersion(_ bytes: [UInt8]) -> Bool {
        let line = String(decoding: bytes.prefix { $0 != 10 && $0 != 13 }, as: UTF8.self)
        return line.contains("HTTP/") && !line.hasSuffix("HTTP/1.1") && !line.hasSuffix("HTTP/1.0")
    }

    /// The head has `Transfer-Encoding` other than one line `chunked` (any case), which is
    /// answered 501 when a coding comes before `chunked` (RFC 9112 §6.1).
    private static func declaresAnotherTransferCoding(_ bytes: [UInt8]) -> Bool {
        let head = bytes.firstRange(of: [13, 10, 13, 10]).map { bytes[..<$0.lowerBound] } ?? bytes[...]
        // Split as bytes: in a String, "\r\n" is one Character.
        let values = head.split(separator: 10).compactMap { bytes -> Substring? in
            let line = String(decoding: bytes.last == 13 ? bytes.dropLast() : bytes, as: UTF8.self)
            guard line.lowercased().hasPrefix("transfer-encoding:") else { return nil }
            return line.dropFirst("transfer-encoding:".count).drop { $0 == " " || $0 == "\t" }
        }
        return !values.isEmpty && (values.count > 1 || values[0].lowercased() != "chunked")
    }

    /// The rows the answers so far account for.
    struct Ledger {
        var tasks = 0
        var outbox = 0
        /// The last status each task was given, to know when a PATCH also writes `task.completed`.
        var statuses: [String: String] = [:]

        mutating func apply(_ effect: HTTPRequestGenerator.Effect, _ response: RawExchange.Response, ids: inout [String]) {
            let task = (try? JSONParser.parse(response.body))?.objectValue
            switch (effect, response.status) {
            case (.create, 201), (.create, 202):
                guard response.header("Idempotent-Replayed") != "true", let id = task?["id"]?.stringValue else { return }
                tasks += 1
                outbox += 1
                ids.append(id)
                statuses[id] = task?["status"]?.stringValue
            case (.patch, 200):
                guard let id = task?["id"]?.stringValue else { return }
                let status = task?["status"]?.stringValue
                outbox += status == "done" && statuses[id] != "done" ? 2 : 1
                statuses[id] = status
            case (.delete, 204):
                tasks -= 1
                outbox += 1
            default:
                break
            }
        }
    }
}
