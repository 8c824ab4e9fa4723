import Foundation

/// Percentiles of the latencies of some samples, in milliseconds, for the FAULT lines.
struct Latency {
    let count: Int
    let p50: Double
    let p99: Double
    let max: Double

    init(_ samples: [LoadSample]) {
        let sorted = samples.map(\.milliseconds).sorted()
        count = sorted.count
        func percentile(_ p: Double) -> Double {
            sorted.isEmpty ? 0 : sorted[Swift.min(sorted.count - 1, Swift.max(0, Int((Double(sorted.count) * p).rounded(.up)) - 1))]
        }
        p50 = percentile(0.50)
        p99 = percentile(0.99)
        max = sorted.last ?? 0
    }

    /// `<prefix>_p50_ms`, `<prefix>_p99_ms` (and `<prefix>_max_ms` when asked).
    func fields(_ prefix: String, withMax: Bool = false) -> [(String, String)] {
        var fields = [("\(prefix)_p50_ms", Self.format(p50)), ("\(prefix)_p99_ms", Self.format(p99))]
        if withMax { fields.append(("\(prefix)_max_ms", Self.format(max))) }
        return fields
    }

    static func format(_ milliseconds: Double) -> String { String(format: "%.1f", milliseconds) }
}
