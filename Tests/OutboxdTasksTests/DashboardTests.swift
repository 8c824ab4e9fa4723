import Foundation
import OutboxdCore
import OutboxdTestSupport
import Testing

/// config/outboxd-dashboard.json queries only metrics a running daemon exports, so renaming a
/// metric fails here; and it is a Grafana model over a Prometheus data source variable.
@Suite struct DashboardTests {
    static var dashboardFile: URL { TestEnvironment.repositoryRoot.appendingPathComponent("config/outboxd-dashboard.json") }

    /// Every PromQL expression of the dashboard (panels, rows' panels, and query variables).
    static func expressions(_ dashboard: JSONValue) -> [String] {
        func panelExpressions(_ panels: [JSONValue]) -> [String] {
            panels.flatMap { panel in
                (panel["targets"]?.arrayValue ?? []).compactMap { $0["expr"]?.stringValue } + panelExpressions(panel["panels"]?.arrayValue ?? [])
            }
        }
        let variables = (dashboard["templating"]?["list"]?.arrayValue ?? []).compactMap { $0["query"]?["query"]?.stringValue ?? $0["definition"]?.stringValue }
        return panelExpressions(dashboard["panels"]?.arrayValue ?? []) + variables.filter { $0.contains("outboxd_") }
    }

    @Test func everyMetricTheDashboardQueriesIsExported() throws {
        let dashboard = try JSONParser.parse(Array(try Data(contentsOf: Self.dashboardFile)))
        let expressions = Self.expressions(dashboard)
        #expect(expressions.count >= 20)
        let used = Set(expressions.flatMap { $0.matches(of: /outboxd_[a-z_]+/).map { String($0.output) } })

        let api = try APIFixture(parts: [.api, .relay, .consumers])
        let client = try api.client()
        #expect(try client.json("POST", "/tasks", #"{"title":"on the dashboard"}"#).status == 201)
        var metrics = try Self.scrape(client)
        // Per-consumer and per-broker series appear once the consumers read and the statistics come.
        try waitUntil("consumer lag and broker state are exported", timeout: .seconds(60)) {
            metrics = try Self.scrape(client)
            return metrics.value("outboxd_consumer_lag", ["consumer": "audit"]) != nil && !metrics.all("outboxd_kafka_broker_up").isEmpty
        }
        var exported = Set(metrics.types.keys).union(metrics.samples.map(\.name))
        for (name, type) in metrics.types where type == "histogram" {
            exported.formUnion(["\(name)_bucket", "\(name)_sum", "\(name)_count"])
        }
        #expect(used.count >= 20)
        // The WAL source's (RELAY_SOURCE=wal): aWalRelayIsRefusedWithoutLogicalDecodingAndPublishesWithIt.
        for name in used.sorted() where !name.hasPrefix("outboxd_wal_") {
            #expect(exported.contains(name), "the dashboard queries \(name), which /metrics does not export")
        }
        #expect(used.contains("outboxd_wal_slot_retained_bytes"))
    }

    @Test func itIsAGrafanaModelOverAPrometheusDataSourceVariable() throws {
        let dashboard = try JSONParser.parse(Array(try Data(contentsOf: Self.dashboardFile)))
        let variables = dashboard["templating"]?["list"]?.arrayValue ?? []
        let datasource = try #require(variables.first { $0["type"]?.stringValue == "datasource" })
        #expect(datasource["query"]?.stringValue == "prometheus")
        let name = try #require(datasource["name"]?.stringValue)
        #expect(dashboard["uid"]?.stringValue == "outboxd")
        #expect(dashboard["schemaVersion"]?.numberText != nil)
        let panels = (dashboard["panels"]?.arrayValue ?? []).filter { $0["type"]?.stringValue != "row" }
        #expect(panels.count >= 12)
        for panel in panels {
            let title = panel["title"]?.stringValue ?? "?"
            #expect(panel["datasource"]?["uid"]?.stringValue == "${\(name)}", "\(title)")
            #expect(panel["datasource"]?["type"]?.stringValue == "prometheus", "\(title)")
            let targets = panel["targets"]?.arrayValue ?? []
            #expect(targets.count > 0, "\(title)")
            #expect(panel["gridPos"]?["w"]?.numberText != nil, "\(title)")
        }
        let titles = panels.compactMap { $0["title"]?.stringValue }
        #expect(Set(titles).count == titles.count, "panel titles are unique")
    }

    static func scrape(_ client: HTTPTestClient) throws -> PrometheusScrape {
        let response = try client.request("GET", "/metrics")
        guard response.status == 200 else { throw HTTPTestError("GET /metrics: \(response.status) \(response.text)") }
        return try PrometheusScrape(response.text)
    }
}
