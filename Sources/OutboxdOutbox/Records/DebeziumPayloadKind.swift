/// What a row's payload is to the Debezium shape: the type its `outboxd_debezium.outbox` column
/// had (`outboxd_debezium.set_payload_type`, migration 0019), which decides Kafka Connect's schema
/// and how a JSON converter writes it.
public enum DebeziumPayloadKind: Sendable, Equatable {
    /// A jsonb payload: Connect's string named `io.debezium.data.Json`.
    case json
    /// A text payload (`payload_bytes` in UTF-8 with content type `text/plain; charset=utf-8`,
    /// as the view writes one): Connect's plain string.
    case text
    /// Any other `payload_bytes`: Connect's bytes, base64 under a JSON converter.
    case bytes

    /// The content type the view gives a text payload.
    public static let textContentType = "text/plain; charset=utf-8"

    /// The kind of a payload stored as jsonb (`isBytes` false) or as `payload_bytes` with
    /// `contentType`: text only when that is exactly the text type and `payload` is valid UTF-8
    /// (a JSON converter writes it as a JSON string), bytes otherwise. A tombstone has no payload:
    /// its content type says what the view's column was (the text type, or
    /// `application/octet-stream` for bytea), JSON for any other or none.
    init(payload: [UInt8], isBytes: Bool, contentType: String?, tombstone: Bool = false) {
        if tombstone {
            self = contentType == Self.textContentType ? .text : contentType == "application/octet-stream" ? .bytes : .json
        } else if !isBytes {
            self = .json
        } else {
            self = contentType == Self.textContentType && String(validating: payload, as: UTF8.self) != nil ? .text : .bytes
        }
    }

    /// The payload's Connect schema as a JSON converter writes it, with `extra` members (`"field":…`) after its own.
    func schemaJSON(extra: String = "") -> [UInt8] {
        let members = switch self {
        case .json: #""type":"string","optional":true,"name":"io.debezium.data.Json","version":1"#
        case .text: #""type":"string","optional":true"#
        case .bytes: #""type":"bytes","optional":true"#
        }
        return Array("{\(members)\(extra)}".utf8)
    }
}
