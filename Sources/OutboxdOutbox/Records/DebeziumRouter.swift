/// Debezium's outbox event router options that read more than its fixed columns: the event
/// timestamp, the additional fields and routing by a column, with the view's columns they name.
public struct DebeziumRouter: Sendable {
    /// `route.by.field`, `route.topic.regex` and `route.topic.replacement`; nil when none is set:
    /// `OUTBOX_TOPIC_ROUTE` routes (which routes the same at Debezium's defaults).
    public var route: DebeziumTopicRoute? {
        didSet { addedColumnsRead = Self.addedColumns(self) }
    }
    /// `table.field.event.timestamp`: the `timestamp` column whose value (in ms) is the record's
    /// timestamp; where it is NULL, and without it, the time the relay produces the record (as
    /// Debezium's is the time its connector read the change). Config key
    /// `OUTBOX_DEBEZIUM_EVENT_TIMESTAMP_FIELD`; default none.
    public var eventTimestampField: String? {
        didSet { addedColumnsRead = Self.addedColumns(self) }
    }
    /// `table.fields.additional.placement`. Config key `OUTBOX_DEBEZIUM_ADDITIONAL_PLACEMENT`;
    /// default none.
    public var additionalFields: [DebeziumAdditionalField] = [] {
        didSet {
            hasEnvelope = additionalFields.contains { $0.placement == .envelope }
            addedColumnsRead = Self.addedColumns(self)
        }
    }
    /// `table.expand.json.payload`: a payload that is a JSON object goes as a Connect struct with
    /// the schema inferred from it (`DebeziumExpandedPayload`). Config key
    /// `OUTBOX_DEBEZIUM_EXPAND_JSON_PAYLOAD`; default `no`.
    public var expandJSONPayload = false
    /// The replaced connector's outbox table, `schema.table`, which names an envelope's schema
    /// (`<logical name>.<table>.<routed value>.Value`) under `OUTBOX_DEBEZIUM_CONVERTER=json`.
    /// Config key `OUTBOX_DEBEZIUM_TABLE`; default `public.outbox`.
    public var table = "public.outbox"
    /// The view's columns (`DebeziumColumn.load`, at start-up).
    public var columns = DebeziumColumn.standard
    /// An additional field is placed in the envelope: the value is a struct of the payload and
    /// those fields, not the payload alone.
    private(set) var hasEnvelope = false
    /// The view's columns these options read besides Debezium's own (from `fields`), kept as
    /// the options change rather than worked out for every row.
    public private(set) var addedColumnsRead: [String] = []

    public init() {}

    private static func addedColumns(_ router: DebeziumRouter) -> [String] {
        ([router.eventTimestampField, router.route?.field].compactMap { $0 } + router.additionalFields.map(\.column))
            .filter { DebeziumColumn.standard[$0] == nil }
    }

    /// Why the options cannot run against the view's `columns`, naming the setting and the column;
    /// nil when they can. What Debezium finds only on its first record (and then stops on) is
    /// found here at start-up.
    public func problem() -> (key: String, message: String)? {
        func missing(_ column: String) -> String {
            "the view outboxd_debezium.outbox has no column \(column); add it as the replaced table has it, e.g. SELECT outboxd_debezium.add_column('\(column)', 'text')"
        }
        if let field = eventTimestampField {
            guard let column = columns[field] else { return ("OUTBOX_DEBEZIUM_EVENT_TIMESTAMP_FIELD", missing(field)) }
            guard column.kind == .microTimestamp else {
                return ("OUTBOX_DEBEZIUM_EVENT_TIMESTAMP_FIELD", "column \(field) is \(column.kind.sqlType), not timestamp (Debezium reads the event time from a timestamp column only)")
            }
        }
        for field in additionalFields {
            guard let column = columns[field.column] else { return ("OUTBOX_DEBEZIUM_ADDITIONAL_PLACEMENT", missing(field.column)) }
            if field.placement == .partition && column.kind != .int32 {
                return ("OUTBOX_DEBEZIUM_ADDITIONAL_PLACEMENT", "column \(field.column) is \(column.kind.sqlType); a partition comes from an integer column")
            }
        }
        if let field = route?.field {
            guard let column = columns[field] else { return ("OUTBOX_DEBEZIUM_ROUTE_BY_FIELD", missing(field)) }
            guard [.string, .uuid].contains(column.kind) else {
                return ("OUTBOX_DEBEZIUM_ROUTE_BY_FIELD", "column \(field) is \(column.kind.sqlType); Debezium routes by a text column")
            }
        }
        return nil
    }
}
