import Foundation
import OutboxdConsumers
import OutboxdKafka

/// Parsers for config values; each error names the key and what is allowed.
enum ValueParser {
    static func integer(_ value: String, key: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        guard let number = Int(value), range.contains(number) else {
            throw ConfigurationError(key: key, "\"\(value.prefix(32))\" is not a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    /// `audit,notifications,reminders` (any subset, comma-separated) or `none`.
    static func consumerList(_ value: String, key: String) throws(ConfigurationError) -> [String] {
        if value == "none" { return [] }
        let names = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let allowed = ConsumerConfiguration.all
        if names.isEmpty || names.contains(where: { !allowed.contains($0) }) {
            let bad = names.first { !allowed.contains($0) } ?? value
            throw ConfigurationError(key: key, "\"\(bad.prefix(32))\" is not a consumer; use some of \(allowed.joined(separator: ",")) or none")
        }
        return allowed.filter(names.contains)
    }

    /// `on`/`off` (also `true`/`false`, `yes`/`no`, `1`/`0`).
    /// Comma-separated bearer tokens, each at least 16 visible ASCII characters. Errors name the
    /// token by position, never by value.
    static func tokens(_ value: String, key: String) throws(ConfigurationError) -> [String] {
        guard !value.isEmpty else { return [] }
        let tokens = value.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        for (index, token) in tokens.enumerated() {
            guard token.utf8.count >= 16, token.utf8.count <= 512, token.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
                throw ConfigurationError(key: key, "token \(index + 1) of \(tokens.count) must be 16–512 visible ASCII characters without spaces or commas")
            }
        }
        return tokens
    }

    static func flag(_ value: String, key: String) throws(ConfigurationError) -> Bool {
        switch value.lowercased() {
        case "on", "true", "yes", "1": return true
        case "off", "false", "no", "0": return false
        default: throw ConfigurationError(key: key, "\"\(value.prefix(32))\" is not on or off")
        }
    }

    /// `500ms`, `5s`, `2m`, `1h` (a whole number and a unit).
    static func duration(_ value: String, key: String, in range: ClosedRange<Duration>) throws(ConfigurationError) -> Duration {
        let units: [(suffix: String, make: (Int64) -> Duration)] = [
            ("ms", { .milliseconds($0) }), ("s", { .seconds($0) }), ("m", { .seconds($0 * 60) }), ("h", { .seconds($0 * 3600) }),
        ]
        for unit in units where value.hasSuffix(unit.suffix) {
            let digits = value.dropLast(unit.suffix.count)
            guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit), let number = Int64(digits), number < 1_000_000_000 else { break }
            let duration = unit.make(number)
            guard range.contains(duration) else {
                throw ConfigurationError(key: key, "\(value) is outside \(format(range.lowerBound))…\(format(range.upperBound))")
            }
            return duration
        }
        throw ConfigurationError(key: key, "\"\(value.prefix(32))\" is not a duration like 500ms, 5s, 2m or 1h")
    }

    /// `host:port` or `[v6-address]:port`, port 0…65535.
    static func hostPort(_ value: String, key: String) throws(ConfigurationError) -> (String, Int) {
        let host: Substring
        let portText: Substring
        if value.hasPrefix("["), let close = value.firstIndex(of: "]") {
            host = value[value.index(after: value.startIndex)..<close]
            let rest = value[value.index(after: close)...]
            guard rest.hasPrefix(":") else {
                throw ConfigurationError(key: key, "\"\(value.prefix(64))\" is not host:port (e.g. 127.0.0.1:8080 or [::1]:8080)")
            }
            portText = rest.dropFirst()
        } else if let colon = value.lastIndex(of: ":"), !value[..<colon].contains(":") {
            host = value[..<colon]
            portText = value[value.index(after: colon)...]
        } else {
            throw ConfigurationError(key: key, "\"\(value.prefix(64))\" is not host:port (e.g. 127.0.0.1:8080 or [::1]:8080)")
        }
        guard !host.isEmpty else {
            throw ConfigurationError(key: key, "\"\(value.prefix(64))\" has no host (use 0.0.0.0 to listen everywhere)")
        }
        guard !portText.isEmpty, portText.allSatisfy(\.isASCIIDigit), let port = Int(portText), port <= 65535 else {
            throw ConfigurationError(key: key, "\"\(portText.prefix(16))\" is not a port from 0 to 65535")
        }
        return (String(host), port)
    }

    /// A Kafka topic name: 1–249 of `[a-zA-Z0-9._-]`, not `.` or `..`.
    static func topic(_ value: String, key: String) throws(ConfigurationError) -> String {
        guard KafkaTopicName.isValid(value) else {
            throw ConfigurationError(key: key, "\"\(value.prefix(64))\" is not a Kafka topic name (\(KafkaTopicName.rule))")
        }
        return value
    }

    static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if attoseconds == 0 {
            if seconds % 3600 == 0 && seconds > 0 { return "\(seconds / 3600)h" }
            if seconds % 60 == 0 && seconds > 0 { return "\(seconds / 60)m" }
            return "\(seconds)s"
        }
        return "\(duration.wholeMilliseconds)ms"
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
