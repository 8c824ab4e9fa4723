import Dispatch

extension Duration {
    /// Whole milliseconds (truncated).
    public var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }

    /// A Dispatch deadline this far from now, for semaphore waits.
    public var fromNow: DispatchTime {
        .now() + .nanoseconds(Int(clamping: components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000))
    }

    /// Seconds as a Double, for `Thread.sleep(forTimeInterval:)`.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
