import Foundation

/// One request of the load: what was asked, what came back, and how long it took.
struct LoadSample: Sendable {
    enum Kind: Sendable { case create, update }

    let kind: Kind
    /// The HTTP status, or 0 when no response arrived (connection closed, timeout).
    let status: Int
    let taskID: String?
    let started: ContinuousClock.Instant
    let latency: Duration
    let retryAfter: String?
    let error: String?

    var isSuccess: Bool { (200..<300).contains(status) }
    var milliseconds: Double { latency.seconds * 1000 }
}
