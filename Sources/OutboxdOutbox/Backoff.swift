/// Exponential backoff with full jitter: attempt n waits a random time in
/// `[base·2ⁿ⁻¹ / 2, base·2ⁿ⁻¹]`, capped at `maximum`. Pure, for tests.
public struct Backoff: Sendable, Equatable {
    public var base: Duration
    public var maximum: Duration

    public init(base: Duration, maximum: Duration) {
        self.base = base
        self.maximum = maximum
    }

    /// The delay before attempt `attempt + 1`, after `attempt` failures (≥ 1).
    public func delay(afterFailures attempt: Int, jitter: Double) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let ceiling = min(base * (1 << exponent), maximum)
        let fraction = 0.5 + 0.5 * min(max(jitter, 0), 1)
        return ceiling * fraction
    }
}
