import Foundation
import OutboxdTestSupport
import Testing

extension FaultScenarios {
    /// G8: SIGTERM under load, to `serve` or to the `api`, `relay` and `consume` processes at once
    /// (a stop of the split units): each exits 0 within its stop timeout; every request the API
    /// took up was answered (no change without its 2xx; a request still unread on an idle
    /// keep-alive connection is closed unanswered, or answered 503 when it arrives as the
    /// connections close, and changes nothing); every acknowledged change
    /// has its event published or still pending in the outbox, none missing; a relay and an audit
    /// consumer started afterwards publish and apply them all, each once.
    @Test(arguments: ["serve", "split"])
    func sigtermUnderLoadLeavesEveryAcknowledgedEvent(deployment: String) throws {
        let rig = try FaultRig()
        let shutdownTimeout = 20
        let stopSettings = ["SHUTDOWN_TIMEOUT": "\(shutdownTimeout)s"]
        let processes: [DaemonProcess]
        let port: Int
        if deployment == "serve" {
            let serve = try rig.serve(stopSettings)
            (processes, port) = ([serve.process], serve.port)
        } else {
            let api = try rig.start(["api", "--http-listen", "127.0.0.1:0"], stopSettings)
            processes = [api, try rig.start(["relay"], stopSettings), try rig.consumeAudit(stopSettings)]
            port = try api.waitForPort()
        }
        let load = LoadGenerator(port: port, scale: scale)
        load.start()
        try rig.waitForAuditConsumer()
        run(for: scale.sigtermAfter)

        let signalled = ContinuousClock.now
        processes.forEach { $0.signal(SIGTERM) }
        let codes = try processes.map { try $0.waitForExit(timeout: .seconds(shutdownTimeout + 10)) }
        let exited = ContinuousClock.now
        let samples = load.stop()
        let pendingAtExit = try rig.pending()
        let missing = try FaultCounts.missingOutboxRows(rig, samples: samples)

        let relay = try rig.start(["relay"])
        let consumer = try rig.consumeAudit()
        let counts = try FaultCounts.collect(rig, samples: samples, timeout: scale.recoveryTimeout)
        let unanswered = samples.count { $0.status == 0 }
        FaultLine.print("sigterm-\(deployment)", [("scale", scale.name), ("exit", codes.map(String.init).joined(separator: ",")),
                                                  ("stop_ms", milliseconds(signalled, exited)), ("requests", String(samples.count)),
                                                  ("unanswered", String(unanswered)), ("refused_503", String(samples.count { $0.status == 503 })),
                                                  ("refused_connects", String(load.refusedConnections)),
                                                  ("missing_at_exit", String(missing)), ("pending_at_exit", String(pendingAtExit))]
                        + counts.fields)
        #expect(codes.allSatisfy { $0 == 0 })
        #expect(exited - signalled < .seconds(shutdownTimeout))
        #expect(samples.allSatisfy { $0.isSuccess || $0.status == 0 || $0.status == 503 }, "answered requests succeed: \(Set(samples.map(\.status)))")
        #expect(missing == 0, "every acknowledged change is in the outbox once the processes have exited")
        #expect(counts.acknowledged > 0)
        #expect(counts.unacknowledged == 0, "every change the API made was answered 2xx")
        counts.expectCompleteAndOrdered()
        #expect(try rig.terminate([relay, consumer]) == [0, 0])
    }
}
