import Foundation

/// How hard the fault suite pushes: `OUTBOXD_FAULTS=long` (`make test-faults`) uses the issue's
/// numbers; anything else is the short form that runs with `make test`.
struct FaultScale: Sendable {
    let name: String
    /// Concurrent HTTP clients of the load.
    let clients: Int
    /// Requests per second of each client.
    let clientRate: Double
    /// PATCHes each client sends after creating a task (one event each, in commit order).
    let patchesPerTask: Int
    /// Load before a fault and after recovery.
    let phase: Duration
    let relayKills: Int
    /// WAL mode: times the relay's slot is dropped, and times the streaming relay is killed
    /// beside a standby.
    let slotDrops: Int
    let walTakeovers: Int
    /// Seconds between relay kills, chosen at random in this range.
    let killSpacing: ClosedRange<Double>
    let brokerOutage: Duration
    let postgresOutage: Duration
    let stallRoundTrip: Duration
    let stall: Duration
    /// Load before SIGTERM.
    let sigtermAfter: Duration
    /// Bound for waits on recovery (drain, effects, Kafka read-back).
    let recoveryTimeout: Duration

    static let short = FaultScale(
        name: "short", clients: 4, clientRate: 100, patchesPerTask: 2, phase: .seconds(2), relayKills: 3, slotDrops: 2, walTakeovers: 2, killSpacing: 0.5...1.5,
        brokerOutage: .seconds(5), postgresOutage: .seconds(2), stallRoundTrip: .seconds(1), stall: .seconds(4),
        sigtermAfter: .seconds(3), recoveryTimeout: .seconds(90))

    static let long = FaultScale(
        name: "long", clients: 8, clientRate: 75, patchesPerTask: 3, phase: .seconds(10), relayKills: 20, slotDrops: 10, walTakeovers: 6, killSpacing: 1...4,
        brokerOutage: .seconds(60), postgresOutage: .seconds(15), stallRoundTrip: .seconds(2), stall: .seconds(30),
        sigtermAfter: .seconds(20), recoveryTimeout: .seconds(300))

    static var current: FaultScale {
        ProcessInfo.processInfo.environment["OUTBOXD_FAULTS"] == "long" ? .long : .short
    }
}
