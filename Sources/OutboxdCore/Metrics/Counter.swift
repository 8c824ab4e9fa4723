import Synchronization

/// A monotonically increasing count per label values (in the order of `labelNames`).
public final class Counter: MetricFamily {
    public let name: String
    public let help: String
    public let labelNames: [String]
    public var type: MetricType { .counter }
    private let values = Mutex<[[String]: Double]>([:])

    public init(_ name: String, _ help: String, labels: [String] = []) {
        self.name = name
        self.help = help
        labelNames = labels
    }

    /// Adds `amount` (not negative) to the series of `labels`.
    public func increment(_ labels: [String] = [], by amount: Double = 1) {
        precondition(labels.count == labelNames.count, "\(name): \(labelNames.count) label values expected")
        values.withLock { $0[labels, default: 0] += amount }
    }

    /// The current value of one series (0 when it was never incremented).
    public func value(_ labels: [String] = []) -> Double {
        values.withLock { $0[labels] ?? 0 }
    }

    public func renderSamples(into text: inout String) {
        let snapshot = values.withLock { $0 }
        for (labels, value) in snapshot.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            PrometheusText.sample(name, labels: Array(zip(labelNames, labels)), value: value, into: &text)
        }
    }
}
