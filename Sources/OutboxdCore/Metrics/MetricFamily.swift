/// Writes one or more metric families in the Prometheus text format (version 0.0.4).
public protocol MetricsCollector: Sendable {
    func render(into text: inout String)
}

/// One named metric with its samples.
public protocol MetricFamily: MetricsCollector {
    var name: String { get }
    var help: String { get }
    var type: MetricType { get }
    /// Appends the family's sample lines (without `# HELP`/`# TYPE`).
    func renderSamples(into text: inout String)
}

public enum MetricType: String, Sendable {
    case counter, gauge, histogram
}

extension MetricFamily {
    /// `# HELP`, `# TYPE`, then the samples.
    public func render(into text: inout String) {
        text += "# HELP \(name) \(PrometheusText.escapeHelp(help))\n# TYPE \(name) \(type.rawValue)\n"
        renderSamples(into: &text)
    }
}
