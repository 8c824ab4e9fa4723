import OutboxdPostgres

/// A column of `outboxd_debezium.outbox` with the type Debezium's PostgreSQL connector gives it
/// (pgoutput, `time.precision.mode=adaptive`): what an additional field, the routing field and the
/// event timestamp read, and what an envelope's schema says of it.
public struct DebeziumColumn: Sendable, Equatable {
    /// The Kafka Connect type of a column.
    public enum Kind: String, Sendable {
        case string, int16, int32, int64, boolean
        /// `uuid`: a string named `io.debezium.data.Uuid`.
        case uuid
        /// `jsonb`: a string named `io.debezium.data.Json`.
        case json
        /// `timestamp` (without time zone, read as UTC): microseconds since the epoch, an int64
        /// named `io.debezium.time.MicroTimestamp`.
        case microTimestamp

        /// A type of `outboxd_debezium.columns.type`.
        init?(sqlType: String) {
            switch sqlType {
            case "text": self = .string
            case "smallint": self = .int16
            case "integer": self = .int32
            case "bigint": self = .int64
            case "boolean": self = .boolean
            case "uuid": self = .uuid
            case "timestamp": self = .microTimestamp
            default: return nil
            }
        }

        /// The schema members before `optional` and after it, as JsonConverter writes them.
        var schemaType: String {
            switch self {
            case .string, .uuid, .json: "string"
            case .int16: "int16"
            case .int32: "int32"
            case .int64, .microTimestamp: "int64"
            case .boolean: "boolean"
            }
        }

        var schemaName: String? {
            switch self {
            case .uuid: "io.debezium.data.Uuid"
            case .json: "io.debezium.data.Json"
            case .microTimestamp: "io.debezium.time.MicroTimestamp"
            default: nil
            }
        }

        var sqlType: String {
            switch self {
            case .string, .json: "text"
            case .int16: "smallint"
            case .int32: "integer"
            case .int64: "bigint"
            case .boolean: "boolean"
            case .uuid: "uuid"
            case .microTimestamp: "timestamp"
            }
        }
    }

    public let name: String
    public let kind: Kind
    public let optional: Bool

    public init(name: String, kind: Kind, optional: Bool) {
        self.name = name
        self.kind = kind
        self.optional = optional
    }

    /// Debezium's own columns, as its documented outbox table declares them (the view maps each to
    /// an outbox column). `created_at` is outboxd's and not one of them.
    public static let standard: [String: DebeziumColumn] = Dictionary(uniqueKeysWithValues: [
        DebeziumColumn(name: "id", kind: .uuid, optional: false),
        DebeziumColumn(name: "aggregatetype", kind: .string, optional: false),
        DebeziumColumn(name: "aggregateid", kind: .string, optional: false),
        DebeziumColumn(name: "type", kind: .string, optional: false),
        DebeziumColumn(name: "payload", kind: .json, optional: true),
        DebeziumColumn(name: "tracingspancontext", kind: .string, optional: true),
    ].map { ($0.name, $0) })

    /// The view's columns: Debezium's own and those added with `outboxd_debezium.add_column`
    /// (migration 0016), read from `outboxd_debezium.columns`.
    public static func load(_ connection: PQConnection) throws -> [String: DebeziumColumn] {
        var columns = standard
        for row in try connection.query("SELECT name, type, not_null FROM outboxd_debezium.columns ORDER BY position") {
            let name = try row.require(String.self, at: 0)
            let type = try row.require(String.self, at: 1)
            guard let kind = Kind(sqlType: type) else {
                throw PostgresError(kind: .decoding, message: "outboxd_debezium.columns: column \(name) has type \(type), which the relay does not read")
            }
            columns[name] = DebeziumColumn(name: name, kind: kind, optional: !(try row.require(Bool.self, at: 2)))
        }
        return columns
    }
}
