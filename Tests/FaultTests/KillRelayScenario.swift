import Foundation
import OutboxdTestSupport
import Testing

extension FaultScenarios {
    /// G2, G5: `kill -9` of the relay process at random moments under load loses no event; what
    /// a killed relay had sent but not yet marked is sent again (duplicates, same `ce_id`), at
    /// most its two batches in flight (the pipeline) per kill; the audit consumer, a process of
    /// its own, applies every event exactly once. The brokers answer 20 ms late, so that a kill
    /// mostly finds a batch in flight.
    @Test func killedRelayLosesNothing() throws {
        let rig = try FaultRig()
        rig.setRoundTrip(.milliseconds(20))
        try killRelayUnderLoad(rig, scenario: "kill-relay")
    }

    /// The kill-relay scenario on `rig` (also the real-broker tier's), printing `FAULT <scenario>`.
    func killRelayUnderLoad(_ rig: FaultRig, scenario: String) throws {
        let batch = 200
        let relayEnvironment = ["RELAY_BATCH_SIZE": String(batch)]
        let api = try rig.start(["api", "--http-listen", "127.0.0.1:0"])
        var relay = try rig.start(["relay"], relayEnvironment)
        try relay.waitForOutput("owning shards")
        let consumer = try rig.consumeAudit()
        let load = LoadGenerator(port: try api.waitForPort(), scale: scale)
        load.start()
        try rig.waitForAuditConsumer()
        run(for: scale.phase)

        var pendingAtKills: [Int] = []
        for _ in 0..<scale.relayKills {
            Thread.sleep(forTimeInterval: Double.random(in: scale.killSpacing))
            pendingAtKills.append(try rig.pending())
            relay.signal(SIGKILL)
            #expect(try relay.waitForExit() == 128 + SIGKILL)
            relay = try rig.start(["relay"], relayEnvironment)
            try relay.waitForOutput("owning shards")
        }
        run(for: scale.phase)
        let samples = load.stop()

        let counts = try FaultCounts.collect(rig, samples: samples, timeout: scale.recoveryTimeout)
        FaultLine.print(scenario, [("scale", scale.name), ("kills", String(scale.relayKills)),
                                   ("pending_at_kill_max", String(pendingAtKills.max() ?? 0)),
                                   ("requests", String(samples.count))] + counts.fields)
        #expect(samples.allSatisfy { $0.isSuccess }, "the API does not depend on the relay: \(Set(samples.map(\.status)))")
        #expect(counts.acknowledged > 0)
        counts.expectCompleteAndOrdered()
        #expect(counts.duplicates <= scale.relayKills * 2 * batch)
        #expect(try rig.terminate([api, relay, consumer]) == [0, 0, 0])
    }
}
