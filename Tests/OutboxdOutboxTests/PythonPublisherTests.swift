import Foundation
import OutboxdCore
import OutboxdKafka
import OutboxdTestSupport
import Testing
@testable import OutboxdOutbox

/// The README's Python example (docs/examples/place_order.py, psycopg 3 from the project's
/// virtualenv) run as another service would run it: its order and event commit together, and the
/// relay delivers the event with its topic, key, headers and payload.
@Suite struct PythonPublisherTests {
    @Test func aPlainPythonProgramsEventReachesKafka() throws {
        guard let python = ProcessInfo.processInfo.environment["OUTBOXD_TEST_PYTHON"], FileManager.default.isExecutableFile(atPath: python) else {
            Issue.record("OUTBOXD_TEST_PYTHON is not the virtualenv's python: run the suite with `make test` (scripts/kafka-tier.sh install)")
            return
        }
        let fixture = try RelayFixture()
        let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        let child = try ChildProcess(executable: python,
                                     arguments: [TestEnvironment.repositoryRoot.appendingPathComponent("docs/examples/place_order.py").path,
                                                 "--customer", "7", "--total", "12.50", "--traceparent", traceparent, "--tenant", "acme"],
                                     environment: ["DATABASE_URL": fixture.database.url, "PATH": "/usr/bin:/bin"])
        #expect(child.waitForExit() == 0, "\(child.output)")
        let line = try #require(child.output.split(separator: "\n").last, "\(child.output)")
        let printed = try JSONParser.parse(Array(line.utf8))
        let orderID = try #require(printed["order_id"]?.stringValue)
        let eventID = try #require(printed["event_id"]?.stringValue)
        #expect(try fixture.database.count("shop_orders", where: "id::text = $1", [orderID]) == 1)

        fixture.relay.run()
        fixture.relay.wakeup.wake()
        try fixture.waitUntilNothingPending()
        let record = try #require(try fixture.consume(1, topics: ["orders"]).first)
        #expect(record.header("ce_id") == eventID)
        #expect(String(decoding: record.key, as: UTF8.self) == orderID)
        #expect(record.header("ce_type") == "order.placed")
        #expect(record.header("traceparent") == traceparent)
        #expect(record.header("tenant") == "acme")
        let payload = try JSONParser.parse(record.value)
        #expect(payload["order_id"]?.stringValue == orderID)
        #expect(payload["customer"]?.intValue == 7)
        #expect(payload["total"]?.stringValue == "12.50")
    }
}
