import Foundation
import OutboxdConsumers
import OutboxdKafka
import OutboxdOutbox
import OutboxdPostgres

/// Parsers for config values; each error names the key and what is allowed.
enum ValueParser {
    /// A replication slot's or publication's name: lowercase letters, digits and `_`, 1–63
    /// characters, not starting with a digit (what PostgreSQL allows for a slot).
    static func sqlName(_ value: String, key: String) throws(ConfigurationError) -> String {
        guard DebeziumAdditionalField.isColumnName(value) else {
            throw ConfigurationError(key: key, "\"\(value.prefix(64))\" is not a name of 1–63 lowercase letters, digits and _ (not starting with a digit)")
        }
        return value
    }

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
        guard host.utf8.count <= 253 else {
            throw ConfigurationError(key: key, "its host is \(host.utf8.count) bytes; a host name has at most 253")
        }
        guard !portText.isEmpty, portText.allSatisfy(\.isASCIIDigit), let port = Int(portText), port <= 65535 else {
            throw ConfigurationError(key: key, "\"\(portText.prefix(16))\" is not a port from 0 to 65535")
        }
        return (String(host), port)
    }

    /// Kafka brokers, `host:port,…` (`host` alone takes librdkafka's port 9092; `[v6]:port`; a
    /// `proto://` prefix is allowed), as librdkafka would otherwise read `k1:abc` as `k1:0`.
    static func brokers(_ value: String, key: String) throws(ConfigurationError) -> String {
        for item in value.split(separator: ",", omittingEmptySubsequences: false) {
            var rest = Substring(item.trimmingCharacters(in: .whitespaces))
            if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
            let host: Substring
            var port: Substring?
            if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
                host = rest[rest.index(after: rest.startIndex)..<close]
                let after = rest[rest.index(after: close)...]
                if !after.isEmpty { port = after.hasPrefix(":") ? after.dropFirst() : "" }
            } else if let colon = rest.firstIndex(of: ":") {
                host = rest[..<colon]
                port = rest[rest.index(after: colon)...]
            } else {
                host = rest
            }
            let portIsValid = port.map { $0.allSatisfy(\.isASCIIDigit) && Int($0).map { (1...65535).contains($0) } == true } ?? true
            guard !host.isEmpty, host.utf8.count <= 253, !host.contains(where: { $0.isWhitespace || "[]/".contains($0) }), portIsValid else {
                throw ConfigurationError(key: key, "\"\(Redaction.excerpt(item))\" is not host:port with a port from 1 to 65535 (e.g. kafka1:9092,kafka2:9092, or embedded)")
            }
        }
        return value
    }

    /// A libpq conninfo or URI that libpq can read (`PQconninfoParse`, without connecting), whose
    /// port is a number and, in a URI, whose host and database name hold no `@`: a user or
    /// password with an unencoded `/` or `@` splits there, and libpq would then quote its pieces
    /// in its errors. Errors quote neither the value nor the parts of libpq's text in quotes.
    static func conninfo(_ value: String, key: String) throws(ConfigurationError) -> String {
        let hint = "a user or password with @ / : ? % or spaces must be percent-encoded in a URI (%40 %2F %3A %3F %25 %20)"
        guard value.utf8.count <= SecretFile.maxBytes else {
            throw ConfigurationError(key: key, "is \(value.utf8.count) bytes; at most \(SecretFile.maxBytes)")
        }
        let isURI = value.hasPrefix("postgresql://") || value.hasPrefix("postgres://")
        if !isURI, let scheme = value.range(of: "://"), ["postgresql", "postgres"].contains(value[..<scheme.lowerBound].lowercased()) {
            throw ConfigurationError(key: key, "libpq reads a URI only with its scheme in lower case (postgresql:// or postgres://)")
        }
        let options: [String: String]
        switch PQConnection.parseConninfo(value) {
        case .failure(let error):
            throw ConfigurationError(key: key, "libpq cannot read it: \(Redaction.excerpt(unquoted(error.libpqMessage), limit: 160)); \(hint)")
        case .success(let parsed):
            options = parsed
        }
        if let ports = options["port"] {
            let valid = ports.split(separator: ",", omittingEmptySubsequences: false).allSatisfy { port in
                port.isEmpty || (port.utf8.count <= 5 && port.allSatisfy(\.isASCIIDigit) && (1...65535).contains(Int(port) ?? 0))
            }
            guard valid else { throw ConfigurationError(key: key, "its port is not a number from 1 to 65535; \(hint)") }
        }
        if isURI, let name = ["host", "dbname"].first(where: { options[$0]?.contains("@") == true }) {
            throw ConfigurationError(key: key, "its \(name) holds an @; \(hint)")
        }
        return value
    }

    /// libpq's message with each quoted part (its copy of the input) replaced by `"…"`, but for
    /// the single separators its messages name (`"="`).
    static func unquoted(_ message: String) -> String {
        let parts = message.split(separator: "\"", omittingEmptySubsequences: false)
        return parts.enumerated().map { index, part in
            index % 2 == 1 && !["=", ":", "/", "]"].contains(part) ? "…" : String(part)
        }.joined(separator: "\"")
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
