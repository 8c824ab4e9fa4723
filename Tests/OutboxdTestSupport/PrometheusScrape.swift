/// A `/metrics` body parsed strictly by the text format's rules: every line is a `# HELP`, a
/// `# TYPE` (before its samples, once per family) or `name{label="value",…} number`.
public struct PrometheusScrape: Sendable {
    public struct Sample: Sendable {
        public let name: String
        public let labels: [String: String]
        public let value: Double
    }

    public private(set) var samples: [Sample] = []
    public private(set) var types: [String: String] = [:]

    public init(_ text: String) throws {
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            func fail(_ why: String) -> HTTPTestError { HTTPTestError("metrics line \(number + 1): \(why): \(line)") }
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else { throw fail("bad TYPE") }
                guard types[String(parts[2])] == nil else { throw fail("second TYPE") }
                types[String(parts[2])] = String(parts[3])
                continue
            }
            if line.hasPrefix("# HELP ") || line.hasPrefix("#") { continue }
            var rest = Substring(line)
            let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }
            guard !name.isEmpty, !(name.first!.isNumber) else { throw fail("bad metric name") }
            rest = rest.dropFirst(name.count)
            var labels: [String: String] = [:]
            if rest.first == "{" {
                rest = rest.dropFirst()
                while rest.first != "}" {
                    let label = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
                    rest = rest.dropFirst(label.count)
                    guard !label.isEmpty, rest.hasPrefix("=\"") else { throw fail("bad label") }
                    rest = rest.dropFirst(2)
                    var value = ""
                    while let character = rest.first, character != "\"" {
                        rest = rest.dropFirst()
                        if character == "\\" {
                            guard let escaped = rest.popFirst() else { throw fail("bad escape") }
                            value.append(escaped == "n" ? "\n" : escaped)
                        } else {
                            value.append(character)
                        }
                    }
                    guard rest.popFirst() == "\"" else { throw fail("unterminated label value") }
                    labels[String(label)] = value
                    if rest.first == "," { rest = rest.dropFirst() }
                }
                rest = rest.dropFirst()
            }
            guard rest.first == " " else { throw fail("no value") }
            let text = rest.dropFirst()
            let value: Double? = switch text {
            case "+Inf": .infinity
            case "-Inf": -.infinity
            case "NaN": .nan
            default: Double(text)
            }
            guard let value else { throw fail("bad value") }
            let family = ["_bucket", "_sum", "_count"].first { name.hasSuffix($0) }.map { String(name.dropLast($0.count)) } ?? String(name)
            guard types[String(name)] != nil || types[family] != nil else { throw fail("sample before its TYPE") }
            samples.append(Sample(name: String(name), labels: labels, value: value))
        }
    }

    /// The value of the one sample with this name whose labels include `labels`; nil when none.
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }?.value
    }

    public func all(_ name: String) -> [Sample] {
        samples.filter { $0.name == name }
    }
}
