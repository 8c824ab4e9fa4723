import Synchronization

/// What one `/metrics` scrape renders, in registration order.
public final class MetricsRegistry: Sendable {
    private let collectors = Mutex<[any MetricsCollector]>([])

    public init() {}

    public func register(_ collectors: [any MetricsCollector]) {
        self.collectors.withLock { $0 += collectors }
    }

    /// The whole exposition text.
    public func render() -> String {
        var text = ""
        for collector in collectors.withLock({ $0 }) { collector.render(into: &text) }
        return text
    }
}
