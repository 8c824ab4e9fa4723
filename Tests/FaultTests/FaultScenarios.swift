import Foundation
import Testing

/// The fault suite (issue #6): each scenario runs load against the real binary, injects a fault,
/// lets the system recover, then counts what came through and prints one `FAULT` line. The
/// scenarios run one after the other: they share two cores and some report latencies.
@Suite(.serialized) struct FaultScenarios {
    let scale = FaultScale.current

    /// Lets the load run for `duration` (not a synchronisation: the load has no end to wait for).
    func run(for duration: Duration) {
        Thread.sleep(forTimeInterval: duration.seconds)
    }

    /// Milliseconds from `start` to `end`, for the FAULT lines.
    func milliseconds(_ start: ContinuousClock.Instant, _ end: ContinuousClock.Instant) -> String {
        String((end - start).wholeMilliseconds)
    }
}
