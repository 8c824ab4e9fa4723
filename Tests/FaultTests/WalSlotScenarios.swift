import Foundation
import OutboxdTestSupport
import Testing

/// Issue #27's faults of the slot itself, in WAL mode whatever `OUTBOXD_TEST_RELAY_SOURCE` says:
/// with `make test` (short form), and in `make test-faults`' WAL pass (long form).
extension FaultScenarios {
    static var walSlotScenariosRun: Bool { FaultRig.relaySource == "wal" || FaultScale.current.name == "short" }

    /// The relay's slot dropped under load (as an operator would, or a failover that loses it):
    /// each time, the relay finds it missing, recreates it and goes on streaming, and the rows
    /// committed meanwhile are published from the table. Nothing lost, no duplicate (no batch is
    /// cut short: the relay's lanes never notice), per-task order kept.
    @Test(.enabled(if: FaultScenarios.walSlotScenariosRun)) func droppedSlotLosesNothing() throws {
        let rig = try FaultRig(relaySource: "wal")
        let slot = try #require(rig.walSlot)
        let api = try rig.start(["api", "--http-listen", "127.0.0.1:0"])
        let relay = try rig.start(["relay"])
        try relay.waitForOutput("streaming the outbox's inserts", timeout: .seconds(120))
        let consumer = try rig.consumeAudit()
        let load = LoadGenerator(port: try api.waitForPort(), scale: scale)
        load.start()
        try rig.waitForAuditConsumer()
        run(for: scale.phase)

        var recreateTimes: [Int] = []
        for drop in 1...scale.slotDrops {
            Thread.sleep(forTimeInterval: Double.random(in: scale.killSpacing))
            let dropped = ContinuousClock.now
            try waitUntil("the slot is dropped") { try rig.dropSlot(slot) }
            try waitUntil("the relay recreates the slot", timeout: .seconds(150)) {
                relay.output.components(separatedBy: "recreated it").count - 1 == drop
            }
            try waitUntil("the relay streams the new slot", timeout: .seconds(150)) { try rig.slotIsActive(slot) }
            recreateTimes.append(Int((ContinuousClock.now - dropped).wholeMilliseconds))
        }
        run(for: scale.phase)
        let samples = load.stop()

        let counts = try FaultCounts.collect(rig, samples: samples, timeout: scale.recoveryTimeout)
        FaultLine.print("slot-dropped", [("scale", scale.name), ("drops", String(scale.slotDrops)),
                                         ("recreated_ms_max", String(recreateTimes.max() ?? 0)),
                                         ("requests", String(samples.count))] + counts.fields)
        #expect(samples.allSatisfy { $0.isSuccess }, "the API does not depend on the slot: \(Set(samples.map(\.status)))")
        #expect(counts.acknowledged > 0)
        counts.expectCompleteAndOrdered()
        #expect(counts.duplicates == 0)
        #expect(try rig.terminate([api, relay, consumer]) == [0, 0, 0])
    }

    /// Two WAL relays under load, one streaming and one standing by: `kill -9` of the streaming
    /// one, and the standby takes the slot (and the shard) over; the killed one comes back as the
    /// new standby, and so on. Reports the longest time from a kill to the standby's stream.
    @Test(.enabled(if: FaultScenarios.walSlotScenariosRun)) func walTakeoverLosesNothing() throws {
        let rig = try FaultRig(relaySource: "wal")
        let slot = try #require(rig.walSlot)
        let relayEnvironment = ["RELAY_BATCH_SIZE": "200"]
        let api = try rig.start(["api", "--http-listen", "127.0.0.1:0"])
        var streaming = try rig.start(["relay"], relayEnvironment)
        try streaming.waitForOutput("streaming the outbox's inserts", timeout: .seconds(120))
        var standby = try rig.start(["relay"], relayEnvironment)
        try standby.waitForOutput("standing by")
        let consumer = try rig.consumeAudit()
        let load = LoadGenerator(port: try api.waitForPort(), scale: scale)
        load.start()
        try rig.waitForAuditConsumer()
        run(for: scale.phase)

        var takeoverTimes: [Int] = []
        for _ in 0..<scale.walTakeovers {
            Thread.sleep(forTimeInterval: Double.random(in: scale.killSpacing))
            let killed = ContinuousClock.now
            streaming.signal(SIGKILL)
            #expect(try streaming.waitForExit() == 128 + SIGKILL)
            try standby.waitForOutput("streaming the outbox's inserts", timeout: .seconds(60))
            takeoverTimes.append(Int((ContinuousClock.now - killed).wholeMilliseconds))
            try waitUntil("the slot is streamed again") { try rig.slotIsActive(slot) }
            streaming = standby
            standby = try rig.start(["relay"], relayEnvironment)
            try standby.waitForOutput("standing by")
        }
        run(for: scale.phase)
        let samples = load.stop()

        let counts = try FaultCounts.collect(rig, samples: samples, timeout: scale.recoveryTimeout)
        FaultLine.print("wal-takeover", [("scale", scale.name), ("takeovers", String(scale.walTakeovers)),
                                         ("takeover_ms_max", String(takeoverTimes.max() ?? 0)),
                                         ("requests", String(samples.count))] + counts.fields)
        #expect(samples.allSatisfy { $0.isSuccess }, "the API does not depend on the relay: \(Set(samples.map(\.status)))")
        #expect(counts.acknowledged > 0)
        counts.expectCompleteAndOrdered()
        #expect(counts.duplicates <= scale.walTakeovers * 2 * 200, "at most the killed relay's two batches in flight, per kill")
        #expect(try rig.terminate([api, streaming, standby, consumer]) == [0, 0, 0, 0])
    }
}
