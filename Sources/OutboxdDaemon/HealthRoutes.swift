import OutboxdCore
import OutboxdHTTP
import OutboxdPostgres

/// `GET /healthz` (the process answers) and `GET /readyz` (each dependency, as JSON; 503 when one is down).
struct HealthRoutes: Sendable {
    let pool: PostgresPool

    func register(in router: inout Router) {
        router.add("GET", "/healthz") { _, _ in .json(200, ["status": "ok"]) }
        router.add("GET", "/readyz") { _, _ in self.readiness() }
    }

    func readiness() -> HTTPResponse {
        var database = JSONObject()
        var ready = true
        do {
            try pool.withConnection { try $0.query("SELECT 1") }
            database.append("status", "up")
        } catch {
            ready = false
            database.append("status", "down")
            database.append("error", .string("\(error)"))
        }
        let body: JSONValue = .object(JSONObject([
            "status": .string(ready ? "ready" : "not_ready"),
            "components": .object(JSONObject(["database": .object(database)])),
        ]))
        return ready ? .json(200, body) : .json(503, body, headers: [("Retry-After", "1")])
    }
}
