/// A family whose samples are read when scraped: a gauge of the database's backlog, or a counter
/// that a component already keeps.
public struct CollectedMetric: MetricFamily {
    public let name: String
    public let help: String
    public let type: MetricType
    public let labelNames: [String]
    private let collect: @Sendable () -> [(labels: [String], value: Double)]

    public init(_ name: String, _ help: String, type: MetricType = .gauge, labels: [String] = [],
                collect: @escaping @Sendable () -> [(labels: [String], value: Double)]) {
        self.name = name
        self.help = help
        self.type = type
        labelNames = labels
        self.collect = collect
    }

    public func renderSamples(into text: inout String) {
        for sample in collect() {
            PrometheusText.sample(name, labels: Array(zip(labelNames, sample.labels)), value: sample.value, into: &text)
        }
    }
}
