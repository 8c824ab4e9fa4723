import Synchronization

/// Observations counted into cumulative buckets per label values, with their sum and count.
public final class Histogram: MetricFamily {
    public let name: String
    public let help: String
    public let labelNames: [String]
    /// Upper bounds, ascending; `+Inf` is implied.
    public let buckets: [Double]
    public var type: MetricType { .histogram }

    /// One series: counts per bucket (not cumulative), then the sum and count of observations.
    public struct Series: Sendable, Equatable {
        public var counts: [Int]
        public var sum: Double = 0
        public var count: Int = 0
    }

    private let series = Mutex<[[String]: Series]>([:])

    public init(_ name: String, _ help: String, labels: [String] = [], buckets: [Double]) {
        precondition(!buckets.isEmpty && zip(buckets, buckets.dropFirst()).allSatisfy { $0 < $1 }, "\(name): buckets must ascend")
        self.name = name
        self.help = help
        labelNames = labels
        self.buckets = buckets
    }

    public func observe(_ value: Double, _ labels: [String] = []) {
        observe(CollectionOfOne(value), labels)
    }

    /// Observes many values of one series under one lock.
    public func observe(_ values: some Sequence<Double>, _ labels: [String] = []) {
        precondition(labels.count == labelNames.count, "\(name): \(labelNames.count) label values expected")
        series.withLock { all in
            var current = all[labels] ?? Series(counts: Array(repeating: 0, count: buckets.count + 1))
            for value in values { current.record(buckets.firstIndex { value <= $0 } ?? buckets.count, value) }
            all[labels] = current
        }
    }

    public func snapshot(_ labels: [String] = []) -> Series? {
        series.withLock { $0[labels] }
    }

    public func renderSamples(into text: inout String) {
        let snapshot = series.withLock { $0 }
        for (labels, series) in snapshot.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            let pairs = Array(zip(labelNames, labels))
            var cumulative = 0
            for (index, bound) in (buckets + [.infinity]).enumerated() {
                cumulative += series.counts[index]
                PrometheusText.sample(name + "_bucket", labels: pairs + [("le", PrometheusText.format(bound))], value: Double(cumulative), into: &text)
            }
            PrometheusText.sample(name + "_sum", labels: pairs, value: series.sum, into: &text)
            PrometheusText.sample(name + "_count", labels: pairs, value: Double(series.count), into: &text)
        }
    }
}

extension Histogram.Series {
    mutating func record(_ bucket: Int, _ value: Double) {
        counts[bucket] += 1
        sum += value
        count += 1
    }
}
