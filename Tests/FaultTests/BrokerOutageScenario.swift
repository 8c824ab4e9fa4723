import Foundation
import OutboxdTestSupport
import Testing

extension FaultScenarios {
    /// G2, G3, G4: every broker down under load. The API (`serve`, the relay in the same process)
    /// answers every request 2xx meanwhile — its latencies before and during the outage are
    /// reported, not asserted, as the machine is shared —; after the brokers are back nothing is
    /// lost and each task's events reached Kafka in commit order.
    @Test func brokerOutageLosesNothingAndKeepsOrder() throws {
        let rig = try FaultRig()
        let (serve, port) = try rig.serve()
        let monitor = BacklogMonitor(url: rig.databaseURL)
        monitor.start()
        let load = LoadGenerator(port: port, scale: scale)
        load.start()
        try rig.waitForAuditConsumer()
        run(for: scale.phase)

        let down = ContinuousClock.now
        rig.kafka.setAllBrokers(up: false)
        run(for: scale.brokerOutage)
        let up = ContinuousClock.now
        rig.kafka.setAllBrokers(up: true)
        run(for: scale.phase)
        let samples = load.stop()

        try waitUntil("the backlog is published", timeout: scale.recoveryTimeout) { try rig.pending() == 0 }
        let drained = ContinuousClock.now
        monitor.stop()
        let counts = try FaultCounts.collect(rig, samples: samples, timeout: scale.recoveryTimeout)
        let before = Latency(samples.filter { $0.started < down })
        let during = Latency(samples.filter { $0.started >= down && $0.started < up })
        FaultLine.print("brokers-down", [("scale", scale.name), ("down_s", String(Int(scale.brokerOutage.seconds))),
                                         ("requests", String(samples.count)),
                                         ("non_2xx", String(samples.count { !$0.isSuccess }))]
                        + before.fields("before") + during.fields("during", withMax: true)
                        + [("pending_max", String(monitor.maximum(in: down..<up))), ("drain_ms", milliseconds(up, drained))]
                        + counts.fields)
        #expect(samples.allSatisfy { $0.isSuccess }, "every request 2xx: \(Set(samples.map(\.status))) \(samples.compactMap(\.error).prefix(3))")
        #expect(during.count > 0)
        #expect(monitor.maximum(in: down..<up) > 0, "events waited while the brokers were down")
        counts.expectCompleteAndOrdered()
        #expect(try rig.terminate([serve]) == [0])
    }
}
