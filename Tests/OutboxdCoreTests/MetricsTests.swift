import OutboxdCore
import Testing

@Suite struct MetricsTests {
    @Test func counterRendersHelpTypeAndSortedSeries() {
        let counter = Counter("requests_total", "Requests by route.\nSecond line \\ too.", labels: ["route", "status"])
        counter.increment(["POST /tasks", "201"])
        counter.increment(["POST /tasks", "201"], by: 2)
        counter.increment(["GET /tasks/{id}", "404"])
        var text = ""
        counter.render(into: &text)
        #expect(text == """
            # HELP requests_total Requests by route.\\nSecond line \\\\ too.
            # TYPE requests_total counter
            requests_total{route="GET /tasks/{id}",status="404"} 1
            requests_total{route="POST /tasks",status="201"} 3

            """)
        #expect(counter.value(["POST /tasks", "201"]) == 3)
        #expect(counter.value(["POST /tasks", "500"]) == 0)
    }

    @Test func histogramBucketsAreCumulativeWithSumAndCount() {
        let histogram = Histogram("latency_seconds", "Latency.", buckets: [0.01, 0.1, 1])
        histogram.observe(0.005)
        histogram.observe(0.01) // on a bound: counted in that bucket
        histogram.observe([0.5, 7])
        var text = ""
        histogram.renderSamples(into: &text)
        #expect(text == """
            latency_seconds_bucket{le="0.01"} 2
            latency_seconds_bucket{le="0.1"} 2
            latency_seconds_bucket{le="1"} 3
            latency_seconds_bucket{le="+Inf"} 4
            latency_seconds_sum 7.515
            latency_seconds_count 4

            """)
        #expect(histogram.snapshot()?.counts == [2, 0, 1, 1])
    }

    @Test func labelValuesAreEscaped() {
        var text = ""
        PrometheusText.sample("m", labels: [("a", "say \"hi\"\\\n")], value: 1.5, into: &text)
        #expect(text == "m{a=\"say \\\"hi\\\"\\\\\\n\"} 1.5\n")
    }

    /// A CRLF (one Character in Swift) in a label value, as in an outbox row's topic written with
    /// SQL: its line feed is escaped, so the sample stays on one line and the scrape parses.
    @Test func aCarriageReturnLineFeedInALabelStaysOnOneLine() {
        var text = ""
        PrometheusText.sample("m", labels: [("topic", "bad\r\ntopic")], value: 1, into: &text)
        #expect(text == "m{topic=\"bad\r\\ntopic\"} 1\n")
        #expect(text.unicodeScalars.filter { $0 == "\n" }.count == 1, "only the line's own end")
    }

    @Test(arguments: [(0.0, "0"), (42, "42"), (-3, "-3"), (0.25, "0.25"), (Double.infinity, "+Inf"), (-Double.infinity, "-Inf"), (Double.nan, "NaN"), (1e20, "1e+20")])
    func numbersAreFormattedTheWayPrometheusReadsThem(value: Double, text: String) {
        #expect(PrometheusText.format(value) == text)
    }

    @Test func collectedFamiliesAreReadAtRenderTimeInRegistrationOrder() {
        let registry = MetricsRegistry()
        let source = Counter("source_total", "Source.")
        registry.register([CollectedMetric("pending", "Pending.", labels: ["topic"]) { [(["a"], source.value())] }, source])
        source.increment(by: 5)
        #expect(registry.render() == """
            # HELP pending Pending.
            # TYPE pending gauge
            pending{topic="a"} 5
            # HELP source_total Source.
            # TYPE source_total counter
            source_total 5

            """)
    }
}
