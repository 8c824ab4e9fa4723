import OutboxdCore
import OutboxdHTTP
import OutboxdPostgres
import Synchronization

/// `GET /healthz` (the process answers), `GET /readyz` (each component's state as JSON; 503
/// when one is down) and `GET /readyz/api` (the same for the components the Task API needs: a
/// relay stalled on Kafka leaves the API ready to take writes, G4).
struct HealthRoutes: Sendable {
    /// A component's check: whether it is up, and what to show about it.
    typealias Check = @Sendable () -> (up: Bool, details: JSONObject)
    /// `api`: the component is part of the API's readiness (`/readyz/api`).
    typealias Component = (name: String, check: Check, api: Bool)

    let checks: [Component]

    func register(in router: inout Router, open: Bool) {
        router.add("GET", "/healthz", open: open, inline: true) { _, _ in .json(200, ["status": "ok"]) }
        router.add("GET", "/readyz", open: open) { _, _ in self.readiness(apiOnly: false) }
        router.add("GET", "/readyz/api", open: open) { _, _ in self.readiness(apiOnly: true) }
    }

    func readiness(apiOnly: Bool) -> HTTPResponse {
        var components = JSONObject()
        var ready = true
        for (name, check, api) in checks where api || !apiOnly {
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

    /// The database answers `SELECT 1` through the pool. Down, it shows only a safe
    /// classification (`unreachable`, `auth failed`, …: `PostgresError.classification`); the
    /// error itself (server address, user, …) goes to the log, once per change of state.
    static func database(_ pool: PostgresPool) -> Check {
        let reported = ReportedState()
        let logger = Logger(label: "health")
        return {
            do {
                try pool.withConnection { _ = try $0.query("SELECT 1") }
                if reported.change(to: nil) { logger.notice("database reachable again") }
                return (true, JSONObject())
            } catch {
                let classification = (error as? PostgresError)?.classification ?? "query failed"
                if reported.change(to: classification) {
                    logger.warning("database check failed", ["classification": classification, "error": "\(error)"])
                }
                return (false, JSONObject(["error": .string(classification)]))
            }
        }
    }
}

/// The last state a check logged, so a failing check logs once, not on every probe.
private final class ReportedState: Sendable {
    private let state = Mutex<String??>(.none)

    /// True when `new` differs from the state reported last (nil: up); records it.
    func change(to new: String?) -> Bool {
        state.withLock { state in
            if case .some(let old) = state, old == new { return false }
            let first = state == nil
            state = .some(new)
            return !(first && new == nil)
        }
    }
}
