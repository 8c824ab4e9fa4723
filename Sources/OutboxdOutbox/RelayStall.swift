/// Whether the relay gets anything through while rows are due (issue #28): pure, fed by the relay
/// loop, read by `/readyz` and `/metrics`. A stall — rows due and none delivered or parked for a
/// while: brokers down, a claim that keeps failing, a row no retry gets through — is shown, never
/// acted on: a restart cannot fix it.
public struct RelayStall: Sendable {
    /// When the relay last showed it keeps up: a claim found nothing due (and nothing waits for a
    /// retry), a batch recorded a row delivered or parked, or it owns no shard (a standby).
    public private(set) var advancedAt: ContinuousClock.Instant
    /// Rows were due at the latest claim, rows of the latest batch wait for a retry (backing off,
    /// so not due), or the latest round failed before it could tell.
    public private(set) var behind = false
    /// The first row the relay waits on, and why (a classification or librdkafka's error name,
    /// never row text).
    public private(set) var waitingOn: (id: Int64, reason: String)?
    /// The latest batch left rows to send again.
    private var retrying = false

    public init(now: ContinuousClock.Instant = .now) {
        advancedAt = now
    }

    /// A claim returned `rows` (ids in claim order).
    mutating func claimed(_ rows: [Int64], now: ContinuousClock.Instant) {
        if rows.isEmpty && !retrying {
            keepingUp(now)
            return
        }
        becomeBehind(now)
        if waitingOn == nil, let first = rows.first { waitingOn = (first, "claimed; its delivery report has not come") }
    }

    /// A batch was recorded: `advanced` when it delivered or parked a row; `waitingOn`: its first
    /// row left to send again (failed for now, or held), if any.
    mutating func recorded(advanced: Bool, waitingOn: (id: Int64, reason: String)?, now: ContinuousClock.Instant) {
        if advanced { advancedAt = now }
        self.waitingOn = waitingOn
        retrying = waitingOn != nil
    }

    /// The relay owns no shard: another relay publishes.
    mutating func standby(now: ContinuousClock.Instant) {
        keepingUp(now)
    }

    /// A round failed (the database, a lost connection): nothing can be said of the rows.
    mutating func roundFailed(now: ContinuousClock.Instant) {
        becomeBehind(now)
    }

    /// Seconds without progress while rows are due; 0 when the relay keeps up.
    public func secondsBehind(now: ContinuousClock.Instant) -> Double {
        behind ? max(0, (now - advancedAt).seconds) : 0
    }

    public func stalled(now: ContinuousClock.Instant, after timeout: Duration) -> Bool {
        behind && now - advancedAt > timeout
    }

    private mutating func keepingUp(_ now: ContinuousClock.Instant) {
        (advancedAt, behind, waitingOn, retrying) = (now, false, nil, false)
    }

    private mutating func becomeBehind(_ now: ContinuousClock.Instant) {
        if !behind { (advancedAt, behind) = (now, true) }
    }
}
