import Foundation
import Testing
@testable import OutboxdOutbox

/// `DebeziumConverter` without I/O: Jackson's string escapes, as JsonConverter wrote them in the
/// golden records (`DebeziumGoldenTests` compares whole records).
@Suite struct DebeziumConverterTests {
    func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func jsonStringEscapesAsJackson() {
        let cases: [(String, String)] = [
            ("order-1", #""order-1""#),
            ("", #""""#),
            (#"say "hi" \ back\slash"#, #""say \"hi\" \\ back\\slash""#),
            ("\u{08}\u{09}\u{0A}\u{0C}\u{0D}", #""\b\t\n\f\r""#),
            ("\u{00}\u{01}\u{1F}", #""\u0000\u0001\u001F""#),
            ("\u{7F}\u{2028}/<>&", "\"\u{7F}\u{2028}/<>&\""),
            ("ключ-漢字-Zoë", "\"ключ-漢字-Zoë\""),
            ("😀 𝄞", #""\uD83D\uDE00 \uD834\uDD1E""#),
            ("\u{10FFFF}", #""\uDBFF\uDFFF""#),
        ]
        for (input, expected) in cases {
            #expect(text(DebeziumConverter.jsonString(Array(input.utf8))) == expected, "\(input.debugDescription)")
        }
    }

    @Test func keysAndValuesPerConverter() {
        let key = Array("k\"1".utf8), payload = Array(#"{"a": 1}"#.utf8)
        #expect(DebeziumConverter.string.key(key) == key)
        #expect(DebeziumConverter.string.value(payload, kind: .json) == payload)
        #expect(text(DebeziumConverter.jsonSchemaless.key(key)) == #""k\"1""#)
        #expect(text(DebeziumConverter.jsonSchemaless.value(payload, kind: .json)) == #""{\"a\": 1}""#)
        #expect(text(DebeziumConverter.json.key(key)) == #"{"schema":{"type":"string","optional":false},"payload":"k\"1"}"#)
        #expect(text(DebeziumConverter.json.value(payload, kind: .json))
                == #"{"schema":{"type":"string","optional":true,"name":"io.debezium.data.Json","version":1},"payload":"{\"a\": 1}"}"#)
        // payload_bytes: Connect's BYTES, base64.
        let bytes: [UInt8] = [0, 0xFF, 0x10]
        #expect(DebeziumConverter.string.value(bytes, kind: .bytes) == bytes)
        #expect(text(DebeziumConverter.jsonSchemaless.value(bytes, kind: .bytes)) == #""AP8Q""#)
        #expect(text(DebeziumConverter.json.value(bytes, kind: .bytes)) == #"{"schema":{"type":"bytes","optional":true},"payload":"AP8Q"}"#)
        // A text payload (the view's text column): Connect's plain string.
        let plain = Array("plain \"ü\"".utf8)
        #expect(DebeziumConverter.string.value(plain, kind: .text) == plain)
        #expect(text(DebeziumConverter.jsonSchemaless.value(plain, kind: .text)) == #""plain \"ü\"""#)
        #expect(text(DebeziumConverter.json.value(plain, kind: .text)) == #"{"schema":{"type":"string","optional":true},"payload":"plain \"ü\""}"#)
        #expect(DebeziumPayloadKind(payload: plain, isBytes: true, contentType: "text/plain; charset=utf-8") == .text)
        #expect(DebeziumPayloadKind(payload: plain, isBytes: true, contentType: "text/plain") == .bytes)
        #expect(DebeziumPayloadKind(payload: plain, isBytes: false, contentType: "text/plain; charset=utf-8") == .json)
        // Bytes that are no UTF-8 under the text type stay bytes (no invalid JSON string).
        #expect(DebeziumPayloadKind(payload: [0x61, 0xFF], isBytes: true, contentType: "text/plain; charset=utf-8") == .bytes)
        // A tombstone row: no value under string (the record's value is null), else the converter's null.
        #expect(DebeziumConverter.string.nullValue() == nil)
        #expect(DebeziumConverter.jsonSchemaless.nullValue().map(text) == "null")
        #expect(DebeziumConverter.json.nullValue().map(text) == #"{"schema":{"type":"string","optional":true,"name":"io.debezium.data.Json","version":1},"payload":null}"#)
        // A text or bytea column's NULL: the envelope names that column's schema.
        #expect(DebeziumConverter.json.nullValue(.text).map(text) == #"{"schema":{"type":"string","optional":true},"payload":null}"#)
        #expect(DebeziumConverter.json.nullValue(.bytes).map(text) == #"{"schema":{"type":"bytes","optional":true},"payload":null}"#)
        #expect(DebeziumPayloadKind(payload: [], isBytes: false, contentType: "text/plain; charset=utf-8", tombstone: true) == .text)
        #expect(DebeziumPayloadKind(payload: [], isBytes: false, contentType: "application/octet-stream", tombstone: true) == .bytes)
        for other in [nil, "application/json", "application/json; charset=utf-8", "application/cloudevents+json", "application/avro"] {
            #expect(DebeziumPayloadKind(payload: [], isBytes: false, contentType: other, tombstone: true) == .json, "\(other ?? "none")")
        }
    }
}
