import Foundation
import OutboxdTestSupport
import Testing

extension FaultScenarios {
    /// PostgreSQL stopped (`fast`, or `immediate`: a crash) and started again under load: requests
    /// meanwhile get 503 with Retry-After, none hangs past the client's timeout, none gets another
    /// error; the first 2xx after the restart is measured; no acknowledged change is lost, and
    /// every event reaches Kafka and the audit log once the relay and the consumer reconnect.
    @Test(arguments: ["fast", "immediate"])
    func postgresRestartGives503AndLosesNothing(mode: String) throws {
        let cluster = try TestCluster()
        let rig = try FaultRig(migrating: cluster.url)
        let (serve, port) = try rig.serve(["DATABASE_CONNECT_TIMEOUT": "2s"])
        let timeoutSeconds = 10
        let load = LoadGenerator(port: port, scale: scale, requestTimeoutSeconds: timeoutSeconds)
        load.start()
        try rig.waitForAuditConsumer()
        run(for: scale.phase)

        let stopping = ContinuousClock.now
        try cluster.stop(mode: mode)
        let stopped = ContinuousClock.now
        run(for: scale.postgresOutage)
        try cluster.start()
        let restarted = ContinuousClock.now
        try waitUntil("a request succeeds after the restart", timeout: .seconds(30)) {
            load.samples.contains { $0.isSuccess && $0.started >= restarted }
        }
        let recovered = load.samples.filter { $0.isSuccess && $0.started >= restarted }.map { $0.started + $0.latency }.min()!
        run(for: scale.phase)
        let samples = load.stop()

        let counts = try FaultCounts.collect(rig, samples: samples, timeout: scale.recoveryTimeout)
        let outage = samples.filter { $0.started >= stopping && $0.started < restarted }
        let unavailable = samples.filter { $0.status == 503 }
        let others = samples.filter { !$0.isSuccess && $0.status != 503 }
        FaultLine.print("pg-restart-\(mode)", [("scale", scale.name), ("down_ms", milliseconds(stopped, restarted)),
                                               ("requests", String(samples.count)), ("503", String(unavailable.count)),
                                               ("other_errors", String(others.count))]
                        + Latency(outage).fields("outage", withMax: true)
                        + [("recovery_ms", milliseconds(restarted, recovered))] + counts.fields)
        #expect(others.isEmpty, "only 503 while the database is down: \(others.prefix(5).map { "\($0.status) \($0.error ?? "")" })")
        #expect(unavailable.count > 0, "requests during the outage get 503")
        #expect(unavailable.allSatisfy { $0.retryAfter != nil }, "every 503 says Retry-After")
        #expect(samples.allSatisfy { $0.latency < .seconds(timeoutSeconds) })
        #expect(counts.acknowledged > 0)
        counts.expectCompleteAndOrdered()
        #expect(try rig.terminate([serve]) == [0])
        withExtendedLifetime(cluster) {}
    }
}
