import Foundation
import OutboxdTestSupport
import Testing

extension FaultScenarios {
    /// A network stall: every broker answers `stallRoundTrip` late. The relay falls behind (the
    /// backlog grows beyond anything seen before the stall), catches up once the round trip is
    /// normal again, and loses nothing.
    @Test func brokerStallBuildsABacklogThatDrains() throws {
        let rig = try FaultRig()
        // Small batches: the relay's rate under the stall (about two batches per round trip) falls
        // well below the load's.
        let (serve, port) = try rig.serve(["RELAY_BATCH_SIZE": "50"])
        let monitor = BacklogMonitor(url: rig.databaseURL)
        monitor.start()
        let load = LoadGenerator(port: port, scale: scale)
        load.start()
        try rig.waitForAuditConsumer()
        let started = ContinuousClock.now
        run(for: scale.phase)

        let slowed = ContinuousClock.now
        rig.setRoundTrip(scale.stallRoundTrip)
        run(for: scale.stall)
        let restored = ContinuousClock.now
        rig.setRoundTrip(.zero)
        let normal = monitor.maximum(in: started..<slowed)
        try waitUntil("the backlog is back to what it was before the stall", timeout: scale.recoveryTimeout) {
            monitor.first(atMost: normal, after: restored) != nil
        }
        let caughtUp = monitor.first(atMost: normal, after: restored)!.at
        run(for: scale.phase)
        let samples = load.stop()
        monitor.stop()

        let counts = try FaultCounts.collect(rig, samples: samples, timeout: scale.recoveryTimeout)
        let stalled = monitor.maximum(in: slowed..<restored)
        FaultLine.print("broker-stall", [("scale", scale.name), ("rtt_ms", String(scale.stallRoundTrip.wholeMilliseconds)),
                                         ("stall_s", String(Int(scale.stall.seconds))), ("requests", String(samples.count)),
                                         ("pending_before_max", String(normal)), ("pending_stall_max", String(stalled)),
                                         ("catch_up_ms", milliseconds(restored, caughtUp))]
                        + Latency(samples.filter { $0.started >= slowed && $0.started < restored }).fields("stall")
                        + counts.fields)
        #expect(samples.allSatisfy { $0.isSuccess }, "\(Set(samples.map(\.status)))")
        #expect(stalled > normal, "the backlog grows while the brokers are slow")
        counts.expectCompleteAndOrdered()
        #expect(try rig.terminate([serve]) == [0])
    }
}
