import Foundation

/// How the Debezium shape writes a record's key and value: as the Kafka Connect converter of the
/// deployment it replaces did, so its consumers read the same bytes and a key lands on the same
/// partition (Connect hashes the converted key). Config key `OUTBOX_DEBEZIUM_CONVERTER`; default
/// `string`. Compared with Debezium 3.6.3's records in `DebeziumGoldenTests`.
public enum DebeziumConverter: String, Sendable, CaseIterable {
    /// `StringConverter`: the key's text and the payload's text as they are.
    case string
    /// `JsonConverter` at its defaults (`schemas.enable=true`): each in a schema envelope,
    /// `{"schema":…,"payload":"…"}`.
    case json
    /// `JsonConverter` with `schemas.enable=false`: each as a JSON string.
    case jsonSchemaless = "json-schemaless"

    static let keySchema = Array(#"{"type":"string","optional":false}"#.utf8)

    /// The key's bytes (a row's `message_key` or `aggregate_id`, UTF-8).
    func key(_ text: [UInt8]) -> [UInt8] {
        switch self {
        case .string: return text
        case .jsonSchemaless: return Self.jsonString(text)
        case .json: return Self.envelope(schema: Self.keySchema, payload: Self.jsonString(text))
        }
    }

    /// The value of a row without a payload, whose column was of `kind`; nil: no value (under
    /// `string`, a tombstone).
    func nullValue(_ kind: DebeziumPayloadKind = .json) -> [UInt8]? {
        switch self {
        case .string: return nil
        case .jsonSchemaless: return Array("null".utf8)
        case .json: return Self.envelope(schema: kind.schemaJSON(), payload: Array("null".utf8))
        }
    }

    /// The value's bytes: `payload` is the jsonb payload's text, the text payload's UTF-8, or the
    /// bytes, as `kind` says (a bytes payload in base64 under a JSON converter, Connect's `BYTES`).
    func value(_ payload: [UInt8], kind: DebeziumPayloadKind) -> [UInt8] {
        guard self != .string else { return payload }
        let text = Self.jsonString(kind == .bytes ? Array(Data(payload).base64EncodedString().utf8) : payload)
        guard self == .json else { return text }
        return Self.envelope(schema: kind.schemaJSON(), payload: text)
    }

    /// JsonConverter's `{"schema":…,"payload":…}` (`schemas.enable=true`) of a schema's and a value's JSON.
    static func envelope(schema: [UInt8], payload: [UInt8]) -> [UInt8] {
        Array(#"{"schema":"#.utf8) + schema + Array(#","payload":"#.utf8) + payload + [UInt8(ascii: "}")]
    }

    /// `utf8` as a JSON string the way Jackson (Connect's JSON serializer) writes one: `"` and
    /// `\` escaped, the controls as `\b \t \n \f \r` or `\u00XX`, a character outside the BMP as
    /// its UTF-16 surrogate pair (`\uD83D\uDE00`), everything else as UTF-8. `utf8` is valid UTF-8
    /// (a Swift string's, PostgreSQL's jsonb output, or a text payload `DebeziumPayloadKind` checked).
    static func jsonString(_ utf8: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count + 2)
        out.append(UInt8(ascii: "\""))
        var index = 0
        while index < utf8.count {
            let byte = utf8[index]
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                out += [UInt8(ascii: "\\"), byte]
            case 0x08: out += Array(#"\b"#.utf8)
            case 0x09: out += Array(#"\t"#.utf8)
            case 0x0A: out += Array(#"\n"#.utf8)
            case 0x0C: out += Array(#"\f"#.utf8)
            case 0x0D: out += Array(#"\r"#.utf8)
            case 0x00..<0x20:
                appendEscape(UInt16(byte), to: &out)
            case 0xF0...0xF7 where index + 3 < utf8.count:
                let scalar = (UInt32(byte & 0x07) << 18) | (UInt32(utf8[index + 1] & 0x3F) << 12)
                    | (UInt32(utf8[index + 2] & 0x3F) << 6) | UInt32(utf8[index + 3] & 0x3F)
                let offset = scalar - 0x10000
                appendEscape(UInt16(0xD800 + (offset >> 10)), to: &out)
                appendEscape(UInt16(0xDC00 + (offset & 0x3FF)), to: &out)
                index += 4
                continue
            default:
                out.append(byte)
            }
            index += 1
        }
        out.append(UInt8(ascii: "\""))
        return out
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    private static func appendEscape(_ unit: UInt16, to out: inout [UInt8]) {
        out += [UInt8(ascii: "\\"), UInt8(ascii: "u")]
        for shift in stride(from: 12, through: 0, by: -4) {
            out.append(hexDigits[Int((unit >> UInt16(shift)) & 0xF)])
        }
    }
}
