import OutboxdCore
import OutboxdHTTP
import OutboxdPostgres

/// `GET /healthz` (the process answers) and `GET /readyz` (each component's state as JSON; 503
/// when one is down).
struct HealthRoutes: Sendable {
    /// A component's check: whether it is up, and what to show about it.
    typealias Check = @Sendable () -> (up: Bool, details: JSONObject)

    let checks: [(name: String, check: Check)]

    func register(in router: inout Router, open: Bool) {
        router.add("GET", "/healthz", open: open, inline: true) { _, _ in .json(200, ["status": "ok"]) }
        router.add("GET", "/readyz", open: open) { _, _ in self.readiness() }
    }

    func readiness() -> HTTPResponse {
        var components = JSONObject()
        var ready = true
        for (name, check) in checks {
            let (up, details) = check()
            ready = ready && up
            var object = JSONObject()
            object.append("status", up ? "up" : "down")
            for member in details.members { object.append(member.key, member.value) }
            components.append(name, .object(object))
        }
        let body: JSONValue = .object(JSONObject([
            "status": .string(ready ? "ready" : "not_ready"),
            "components": .object(components),
        ]))
        return ready ? .json(200, body) : .json(503, body, headers: [("Retry-After", "1")])
    }

    /// The database answers `SELECT 1` through the pool.
    static func database(_ pool: PostgresPool) -> Check {
        {
            do {
                try pool.withConnection { _ = try $0.query("SELECT 1") }
                return (true, JSONObject())
            } catch {
                return (false, JSONObject(["error": .string("\(error)")]))
            }
        }
    }
}
