import OutboxdCore

/// A column's value in a row, as Debezium's connector reads it: what an additional field, the
/// routing field or the event timestamp sends.
enum DebeziumValue: Sendable, Equatable {
    case null
    case text(String)
    /// An integer's decimal digits (a `timestamp`: microseconds since the epoch).
    case integer(String)
    case boolean(Bool)

    /// Why a row's `fields` cannot give what the settings read: the row is parked with this.
    struct Unreadable: Error, CustomStringConvertible {
        let description: String
    }

    /// The `columns` of a row's `fields` (jsonb text, or nil), each checked against the type
    /// `types` gives it; a column the row does not have is NULL.
    static func read(_ text: String?, columns: [String], types: [String: DebeziumColumn]) throws -> [String: DebeziumValue] {
        guard let text else { return [:] }
        let object: JSONObject
        do {
            guard let parsed = try JSONParser.parse(text).objectValue else {
                throw Unreadable(description: "fields is not a JSON object")
            }
            object = parsed
        } catch let error as JSONParseError {
            throw Unreadable(description: "fields: \(error)")
        }
        var values: [String: DebeziumValue] = [:]
        for column in columns {
            guard let kind = types[column]?.kind else { continue }
            let value = object[column] ?? .null
            switch (kind, value) {
            case (_, .null):
                values[column] = .null
            case (.string, .string(let text)), (.uuid, .string(let text)), (.json, .string(let text)):
                values[column] = .text(text)
            case (.boolean, .bool(let flag)):
                values[column] = .boolean(flag)
            case (.int16, .number(let digits)) where Int16(digits) != nil,
                 (.int32, .number(let digits)) where Int32(digits) != nil,
                 (.int64, .number(let digits)) where Int64(digits) != nil,
                 (.microTimestamp, .number(let digits)) where Int64(digits) != nil:
                values[column] = .integer(digits)
            default:
                throw Unreadable(description: "fields.\(column) is a JSON \(value.typeName), not a value of column \(column) (\(kind.sqlType))")
            }
        }
        return values
    }

    /// The text Kafka Connect makes of it for a header (`SimpleHeaderConverter`) and in
    /// `Struct.toString` (StringConverter); nil for NULL.
    var text: [UInt8]? {
        switch self {
        case .null: nil
        case .text(let text): Array(text.utf8)
        case .integer(let digits): Array(digits.utf8)
        case .boolean(let flag): Array((flag ? "true" : "false").utf8)
        }
    }

    /// As JsonConverter writes it.
    var json: [UInt8] {
        switch self {
        case .null: Array("null".utf8)
        case .text(let text): DebeziumConverter.jsonString(Array(text.utf8))
        case .integer(let digits): Array(digits.utf8)
        case .boolean(let flag): Array((flag ? "true" : "false").utf8)
        }
    }
}
