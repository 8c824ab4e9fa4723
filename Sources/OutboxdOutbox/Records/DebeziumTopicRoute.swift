import OutboxdCore

/// Debezium's routing of an event to a topic: the value of the column `route.by.field`, rewritten
/// by Kafka Connect's `RegexRouter` (when `route.topic.regex` matches the whole value, the topic is
/// `route.topic.replacement` with its `$n` and `${name}` groups filled in; otherwise the value
/// itself). Config keys `OUTBOX_DEBEZIUM_ROUTE_BY_FIELD` (default `aggregatetype`),
/// `OUTBOX_DEBEZIUM_ROUTE_TOPIC_REGEX` (default `(?<routedByValue>.*)`),
/// `OUTBOX_DEBEZIUM_ROUTE_TOPIC_REPLACEMENT` (default `outbox.event.${routedByValue}`): with all
/// three at their defaults it is `OUTBOX_TOPIC_ROUTE`'s default.
public struct DebeziumTopicRoute: @unchecked Sendable, CustomStringConvertible {
    // @unchecked: Regex is not declared Sendable. Its compiled program is built once, here, and
    // only read afterwards (matching copies nothing shared and mutable).
    enum Piece: Equatable {
        case literal(String)
        case group(Int)
        case named(String)
    }

    public static let defaultField = "aggregatetype"
    public static let defaultRegex = "(?<routedByValue>.*)"
    public static let defaultReplacement = "outbox.event.${routedByValue}"

    /// The column whose value is routed.
    public let field: String
    let regex: Regex<AnyRegexOutput>
    let replacement: [Piece]
    public let description: String

    /// Why a setting is refused: the text names what is wrong.
    public struct Invalid: Error, CustomStringConvertible {
        public let key: String
        public let description: String
    }

    public init(field: String = defaultField, regex pattern: String = defaultRegex, replacement: String = defaultReplacement) throws(Invalid) {
        guard DebeziumAdditionalField.isColumnName(field) else {
            throw Invalid(key: "OUTBOX_DEBEZIUM_ROUTE_BY_FIELD", description: "\"\(field.prefix(64))\" is not a column name (a-z, 0-9, _)")
        }
        do {
            regex = try Regex(pattern)
        } catch {
            throw Invalid(key: "OUTBOX_DEBEZIUM_ROUTE_TOPIC_REGEX", description: "not a regular expression: \(String(describing: error).prefix(120))")
        }
        let groups = Self.groups(of: pattern)
        self.replacement = try Self.parse(replacement, groups: groups)
        self.field = field
        self.description = "\(field) ~ \(pattern) → \(replacement)"
    }

    /// The topic for a routed value: the replacement when the expression matches all of it, else
    /// the value. It may still not be a valid topic name: the producer refuses such a message and
    /// the row is parked with the reason.
    public func topic(_ value: String) -> String {
        guard let match = try? regex.wholeMatch(in: value) else { return value }
        var topic = ""
        for piece in replacement {
            switch piece {
            case .literal(let text): topic += text
            case .group(let n): if n < match.output.count, let text = match.output[n].substring { topic += text }
            case .named(let name): if let text = match.output[name]?.substring { topic += text }
            }
        }
        return topic
    }

    /// The number of capturing groups and their names, from a match-free compile: what Java's
    /// `Matcher` knows when it reads a replacement.
    private static func groups(of pattern: String) -> (count: Int, names: Set<String>) {
        var count = 0
        var names: Set<String> = []
        let scalars = Array(pattern.unicodeScalars)
        var i = 0
        var inClass = false
        while i < scalars.count {
            let c = scalars[i]
            if c == "\\" { i += 2; continue }
            if inClass { if c == "]" { inClass = false }; i += 1; continue }
            if c == "[" { inClass = true; i += 1; continue }
            if c == "(" {
                if i + 1 < scalars.count, scalars[i + 1] == "?" {
                    if i + 2 < scalars.count, scalars[i + 2] == "<", i + 3 < scalars.count, scalars[i + 3] != "=", scalars[i + 3] != "!" {
                        var name = ""
                        var j = i + 3
                        while j < scalars.count, scalars[j] != ">" { name.unicodeScalars.append(scalars[j]); j += 1 }
                        names.insert(name)
                        count += 1
                    }
                } else {
                    count += 1
                }
            }
            i += 1
        }
        return (count, names)
    }

    /// Java's replacement syntax (`Matcher.appendReplacement`): `$n` (as many digits as name a
    /// group), `${name}`, and `\` before a character taken as it is.
    private static func parse(_ text: String, groups: (count: Int, names: Set<String>)) throws(Invalid) -> [Piece] {
        func invalid(_ why: String) -> Invalid { Invalid(key: "OUTBOX_DEBEZIUM_ROUTE_TOPIC_REPLACEMENT", description: why) }
        var pieces: [Piece] = []
        var literal = ""
        let scalars = Array(text.unicodeScalars)
        var i = 0
        while i < scalars.count {
            let c = scalars[i]
            if c == "\\" {
                guard i + 1 < scalars.count else { throw invalid("ends with a lone \\") }
                literal.unicodeScalars.append(scalars[i + 1])
                i += 2
            } else if c == "$" {
                guard i + 1 < scalars.count else { throw invalid("ends with a lone $ (write \\$ for a dollar sign)") }
                if !literal.isEmpty { pieces.append(.literal(literal)); literal = "" }
                if scalars[i + 1] == "{" {
                    guard let close = scalars[(i + 2)...].firstIndex(of: "}") else { throw invalid("an unclosed ${") }
                    let name = String(String.UnicodeScalarView(scalars[(i + 2)..<close]))
                    guard groups.names.contains(name) else { throw invalid("${\(name.prefix(32))}: the expression has no group of that name") }
                    pieces.append(.named(name))
                    i = close + 1
                } else if let digit = Int(String(scalars[i + 1])) {
                    var number = digit
                    i += 2
                    while i < scalars.count, let next = Int(String(scalars[i])), number * 10 + next <= groups.count {
                        number = number * 10 + next
                        i += 1
                    }
                    guard number <= groups.count else { throw invalid("$\(number): the expression has \(groups.count) group(s)") }
                    pieces.append(.group(number))
                } else {
                    throw invalid("a $ must be followed by a group number or {name} (write \\$ for a dollar sign)")
                }
            } else {
                literal.unicodeScalars.append(c)
                i += 1
            }
        }
        if !literal.isEmpty { pieces.append(.literal(literal)) }
        return pieces
    }
}
