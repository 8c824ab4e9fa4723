/// How the relay turns rows into Kafka records: the shape, the route of rows without a topic, and
/// the CloudEvents source.
public struct RecordFormat: Sendable {
    /// Config key `OUTBOX_RECORD_SHAPE`; default `cloudevents`.
    public var shape: RecordShape = .cloudEvents
    /// Config key `OUTBOX_TOPIC_ROUTE`; default `outbox.event.{aggregate_type}`.
    public var route: TopicRoute = .default
    /// `ce_source` of every event. Config key `EVENT_SOURCE`; default `outboxd`.
    public var source = "outboxd" { didSet { sourceUTF8 = Array(source.utf8) } }
    /// Header values built once, not per event.
    private(set) var sourceUTF8: [UInt8] = Array("outboxd".utf8)
    static let specVersionUTF8: [UInt8] = Array("1.0".utf8)
    static let jsonContentTypeUTF8: [UInt8] = Array("application/json".utf8)
    /// The `__debezium.context.*` headers of the Debezium shape.
    public var debeziumContext = DebeziumContext()
    /// How the Debezium shape writes keys and values. Config key `OUTBOX_DEBEZIUM_CONVERTER`;
    /// default `string`.
    public var debeziumConverter = DebeziumConverter.string
    /// Debezium's `route.tombstone.on.empty.payload`: a row without a payload is a null value
    /// under every converter, not the converter's null (`null`, an envelope). Config key
    /// `OUTBOX_DEBEZIUM_TOMBSTONE_ON_EMPTY_PAYLOAD`; default `no`, as Debezium's.
    public var debeziumTombstoneOnEmptyPayload = false
    /// The other options of Debezium's outbox event router: routing by a column, the event
    /// timestamp, additional fields.
    public var debeziumRouter = DebeziumRouter()

    public init() {}

    /// Headers the relay sets; a stored header of one of these names (compared without case) is
    /// not sent, so a consumer reading the event's id gets the event's id.
    var relayOwnedHeaders: Set<String> {
        shape == .debezium && debeziumContext.enabled ? shape.relayOwnedHeaders.union(DebeziumContext.names.map { $0.lowercased() })
            : shape.relayOwnedHeaders
    }
}
