import OutboxdTestSupport

/// Random requests to the Task API for the HTTP fuzz target: well-framed requests with random
/// methods, paths, queries, headers and (mutated) bodies, and byte-mutated raw requests. Framed
/// requests also go near the head's limits (issue #28): hundreds of query parameters, headers or
/// cookies, one very long parameter, a missing or invalid `Host`, transfer codings other than
/// `chunked` alone, weak and listed `If-Match` ETags.
struct HTTPRequestGenerator {
    /// What a request may change, so the fuzz target can count the rows it must find.
    enum Effect: Equatable {
        /// A `POST` (201/202 create a task and its event, unless replayed).
        case create
        /// `PATCH` of an existing task (200 writes an event).
        case patch
        /// `DELETE` of an existing task (204 deletes it and writes an event).
        case delete
        case none
    }

    struct Request {
        var bytes: [UInt8]
        /// nil for raw requests, whose method is unknown.
        var method: String?
        var effect: Effect
        /// Well-formed HTTP/1.1 framing: the server must answer it (unless it closed before).
        var isFramed: Bool
        var asksToClose: Bool
        /// Carries hundreds of cookies: libmicrohttpd 0.9.75 parses them into the connection's
        /// memory pool before any callback of ours, and when they nearly fill it, depending on the
        /// bytes that follow (a body of 80-200 bytes, pipelined requests), it closes the connection
        /// without an answer (it queues 431, then fails to build that response's header a second
        /// time). Nothing of ours runs, so such a request may go unanswered, but only by a close.
        var manyCookies = false
    }

    /// Existing task ids (lowercase), from `Location` headers.
    var ids: [String] = []

    func request(_ random: inout SplitMix64, raw: Bool) -> Request {
        if raw { return rawRequest(&random) }
        switch random.int(0...99) {
        case 0..<45: return framed("POST", "/tasks", body: TaskBodyGenerator.body(&random).bytes, effect: .create, &random)
        case 45..<60:
            let (id, existing) = taskID(&random)
            return framed("PATCH", "/tasks/" + id, body: TaskBodyGenerator.body(&random).bytes, effect: existing ? .patch : .none, &random)
        case 60..<68:
            let (id, existing) = taskID(&random)
            return framed("DELETE", "/tasks/" + id, body: random.chance(10) ? Array("{}".utf8) : nil, effect: existing ? .delete : .none, &random)
        case 68..<85:
            return framed(random.pick(["GET", "GET", "HEAD"]), readPath(&random), body: nil, effect: .none, &random)
        default:
            let method = random.pick(["PUT", "OPTIONS", "TRACE", "post", "FOO", "PATCH", "DELETE", "POST"])
            return framed(method, random.pick(["/", "/tasks/", "//tasks", "/tasks/../tasks", "/nope", "*", "/tasks?x=1", "/TASKS"]),
                          body: random.chance(50) ? TaskBodyGenerator.body(&random).bytes : nil, effect: method == "POST" ? .create : .none, &random)
        }
    }

    // MARK: Framed requests

    private func framed(_ method: String, _ target: String, body: [UInt8]?, effect: Effect, _ random: inout SplitMix64) -> Request {
        var head = "\(method) \(target) HTTP/1.1\r\n"
        var headers: [(String, String)] = []
        if random.chance(95) { headers.append(("Host", random.chance(90) ? random.pick(["127.0.0.1", "x", "localhost:8080", "", "[::1]:8080"])
                                                    : random.pick(["a b", "x/y", "user@x", "x:8o", "[::1", "é"]))) }
        if body != nil || random.chance(5) {
            headers.append(("Content-Type", random.chance(85) ? "application/json" : random.pick(Self.contentTypes)))
        }
        if method == "POST", random.chance(15) {
            headers.append(("Idempotency-Key", random.pick(Self.idempotencyKeys)))
        }
        if method == "PATCH" || method == "DELETE", random.chance(30) {
            headers.append(("If-Match", random.pick(["\"1\"", "\"2\"", "*", "W/\"1\"", "\"0\"", "\"-1\"", "\"99999999999999999999\"", "1", "\"", "",
                                                     "W/\"1\", \"1\"", "\"1\", \"2\"", "W/\"2\"", "*, \"1\"", "\"01\"", ", \"1\" ,"])))
        }
        if random.chance(4) { headers.append(("Expect", "100-continue")) }
        if random.chance(4) { headers.append(("Prefer", random.pick(["wait=0", "wait=-1", "wait=abc", "return=minimal", "wait"]))) }
        if random.chance(10) { headers.append((random.pick(["X-Fuzz", "Accept", "Authorization", "Cookie", "If-None-Match"]), headerValue(&random))) }
        var manyCookies = false
        if random.chance(2) {
            let count = random.int(50...300)
            if random.chance(50) {
                headers += (0..<count).map { ("X-Many-\($0)", "1") }
            } else {
                headers.append(("Cookie", (0..<count).map { "c\($0)=1" }.joined(separator: "; ")))
                manyCookies = count >= 150
            }
        }
        let asksToClose = random.chance(4)
        if asksToClose { headers.append(("Connection", "close")) }
        var payload: [UInt8] = []
        if let body {
            if random.chance(15) {
                headers.append(("Transfer-Encoding", random.chance(80) ? "chunked" : random.pick(Self.transferCodings)))
                payload = chunked(body, &random)
            } else {
                headers.append(("Content-Length", String(body.count)))
                payload = body
            }
        } else if random.chance(5) {
            headers.append(("Content-Length", "0"))
        }
        headers.shuffle(using: &random)
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        return Request(bytes: Array((head + "\r\n").utf8) + payload, method: method, effect: effect, isFramed: true, asksToClose: asksToClose,
                       manyCookies: manyCookies)
    }

    private func chunked(_ body: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
        var out: [UInt8] = []
        var rest = body[...]
        while !rest.isEmpty {
            let piece = rest.prefix(random.int(1...max(1, rest.count)))
            rest = rest.dropFirst(piece.count)
            var size = String(piece.count, radix: 16, uppercase: random.chance(50))
            if random.chance(10) { size += ";ext=\(random.int(0...9))" }
            out += Array((size + "\r\n").utf8) + piece + [13, 10]
        }
        out += Array("0\r\n".utf8)
        if random.chance(10) { out += Array("X-Trailer: t\r\n".utf8) }
        return out + [13, 10]
    }

    /// An existing id, or another string in its place; true when it names a task.
    private func taskID(_ random: inout SplitMix64) -> (String, Bool) {
        if !ids.isEmpty, random.chance(60) {
            let id = random.pick(ids)
            switch random.int(0...9) {
            case 0: return (id.uppercased(), true)
            case 1:
                let suffix = random.pick(["%00", "%00x", "x", "/", "%20", "/history"])
                return (id + suffix, suffix == "/")
            case 2: return (String(id.dropLast()), false)
            default: return (id, true)
            }
        }
        return (random.pick(["5d2f3a52-1d7e-4a39-9f4f-4c4a8f2b0c11", "00000000-0000-0000-0000-000000000000", "123", "%41", "%ff%fe",
                             "5d2f3a521d7e4a399f4f4c4a8f2b0c11", "{5d2f3a52-1d7e-4a39-9f4f-4c4a8f2b0c11}", "%2e%2e", "é", ""]), false)
    }

    private func readPath(_ random: inout SplitMix64) -> String {
        switch random.int(0...6) {
        case 6:
            // Near the query's limits: 100 parameters pass, more get 414; one parameter longer
            // than the head buffer gets libmicrohttpd's 414.
            if random.chance(20) { return "/tasks?after=" + String(repeating: "x", count: random.int(1000...20_000)) }
            return "/tasks?" + (0..<random.int(90...400)).map { _ in random.pick(["status=todo", "limit=5", "a", "&", "x=%00"]) }.joined(separator: "&")
        case 0...2:
            var query: [String] = []
            for _ in 0..<random.int(0...3) {
                query.append(random.pick(["status=todo", "status=done", "status=soon", "status=", "limit=1", "limit=100", "limit=0", "limit=101",
                                          "limit=-1", "limit=99999999999999999999", "limit=1e2", "after=", "after=zzz", "after=MTIzLDU",
                                          "after=OTIyMzM3MjAzNjg1NDc3NTgwNywwMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA",
                                          "sort=title", "%zz=1", "status=%00", "a", "=", "&", "status=todo&status=done"]))
            }
            return "/tasks" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        case 3:
            let (id, _) = taskID(&random)
            return "/tasks/" + id + (random.chance(30) ? "/history" : "")
        default:
            return random.pick(["/healthz", "/readyz", "/metrics", "/openapi.json", "/healthz?x=%00"])
        }
    }

    private func headerValue(_ random: inout SplitMix64) -> String {
        let characters: [Character] = ["a", "Z", "0", " ", "\t", ",", ";", "=", "\"", "é", "😀", "~", "\\"]
        return String((0..<random.int(0...40)).map { _ in random.pick(characters) })
    }

    static let contentTypes = ["application/json; charset=utf-8", "APPLICATION/JSON", "application/merge-patch+json", "text/plain", "",
                               "application/json;", "application/jsonx", "application/*", " application/json "]
    /// Transfer-Encoding values other than `chunked` (all but the first refused: 400 or 501).
    static let transferCodings = ["Chunked", "gzip, chunked", "chunked, gzip", "identity", "x-unknown", "chunked, chunked", "chunked,", "deflate"]
    static let idempotencyKeys = ["k1", "k2", "k3", "a b", String(repeating: "k", count: 201), "é", "k\t"]

    // MARK: Raw requests

    /// A framed `POST /tasks` or `GET` (never naming an existing task, so that it can only create)
    /// with bytes flipped, inserted or cut anywhere, the head included.
    private func rawRequest(_ random: inout SplitMix64) -> Request {
        var template = random.chance(70)
            ? framed("POST", "/tasks", body: TaskBodyGenerator.body(&random).bytes, effect: .create, &random)
            : framed("GET", random.pick(["/tasks", "/healthz", "/tasks?limit=5"]), body: nil, effect: .none, &random)
        for _ in 0..<random.int(1...3) {
            if random.chance(50) {
                let position = random.int(0...template.bytes.count)
                template.bytes.insert(contentsOf: random.pick(Self.httpTokens), at: position)
            } else {
                TaskBodyGenerator.mutate(&template.bytes, &random)
            }
        }
        if random.chance(10) { template.bytes = random.bytes(random.int(1...64)) + [13, 10, 13, 10] }
        return Request(bytes: template.bytes, method: nil, effect: .create, isFramed: false, asksToClose: false)
    }

    static let httpTokens: [[UInt8]] = [
        "\r\n", "\r\n\r\n", "\n", "\r", ":", " ", "\t", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/0.9", "HTTP/1.10", "Content-Length: 99999999\r\n",
        "Content-Length: 5\r\n", "Content-Length: -1\r\n", "Transfer-Encoding: chunked\r\n", "Transfer-Encoding: gzip\r\n", "Expect: 100-continue\r\n",
        "Host: y\r\n", "\u{0}", "%00", "%", "?", "#", "/../", "GET / HTTP/1.1\r\n\r\n", "0\r\n\r\n", "ffffffffffffffff\r\n",
    ].map { Array($0.utf8) }
}
