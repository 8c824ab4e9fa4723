import OutboxdKafka

/// Where a row that leaves `topic` empty goes: a template such as `outbox.event.{aggregate_type}`
/// (Debezium's default), whose placeholders `{aggregate_type}` and `{event_type}` take the row's
/// values. Config key `OUTBOX_TOPIC_ROUTE`; default `outbox.event.{aggregate_type}`.
public struct TopicRoute: Sendable, Equatable, CustomStringConvertible {
    enum Piece: Equatable {
        case literal(String)
        case aggregateType
        case eventType
    }

    let pieces: [Piece]
    public let description: String

    public static let `default` = try! TopicRoute("outbox.event.{aggregate_type}")

    /// Why a template is refused: the text says what is allowed.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public init(_ template: String) throws(Invalid) {
        var pieces: [Piece] = []
        var rest = Substring(template)
        while !rest.isEmpty {
            if rest.first == "{" {
                guard let close = rest.firstIndex(of: "}") else {
                    throw Invalid(description: "an unclosed \"{\"; placeholders are {aggregate_type} and {event_type}")
                }
                switch rest[rest.index(after: rest.startIndex)..<close] {
                case "aggregate_type": pieces.append(.aggregateType)
                case "event_type": pieces.append(.eventType)
                case let name:
                    throw Invalid(description: "unknown placeholder {\(name.prefix(32))}; placeholders are {aggregate_type} and {event_type}")
                }
                rest = rest[rest.index(after: close)...]
            } else {
                let end = rest.firstIndex(of: "{") ?? rest.endIndex
                let literal = String(rest[..<end])
                guard KafkaTopicName.hasOnlyAllowedCharacters(literal) else {
                    throw Invalid(description: "\"\(literal.prefix(64))\" has characters a Kafka topic name cannot have (a-z A-Z 0-9 . _ -)")
                }
                pieces.append(.literal(literal))
                rest = rest[end...]
            }
        }
        guard !pieces.isEmpty else { throw Invalid(description: "must not be empty") }
        self.pieces = pieces
        self.description = template
    }

    /// The topic of a row; it may still not be a valid name (a value with a space, or too long):
    /// the producer refuses such a message, and the row is parked with the reason.
    public func topic(aggregateType: String, eventType: String) -> String {
        var topic = ""
        for piece in pieces {
            switch piece {
            case .literal(let text): topic += text
            case .aggregateType: topic += aggregateType
            case .eventType: topic += eventType
            }
        }
        return topic
    }

    public static func == (lhs: TopicRoute, rhs: TopicRoute) -> Bool { lhs.pieces == rhs.pieces }
}
