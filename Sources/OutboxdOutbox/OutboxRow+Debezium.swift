import Foundation
import OutboxdKafka

extension OutboxRow {
    /// What the payload is to the Debezium shape (the view's payload type, migration 0019).
    var debeziumPayloadKind: DebeziumPayloadKind {
        DebeziumPayloadKind(payload: payload, isBytes: payloadIsBytes, contentType: contentType, tombstone: isTombstone)
    }

    /// A column of `outboxd_debezium.outbox` in this row: Debezium's own from the outbox's
    /// columns, an added one from `fields` (read when the row was, `addedFields`).
    func debeziumValue(of column: String) -> DebeziumValue {
        switch column {
        case "id": .text(eventIDText)
        case "aggregatetype": .text(aggregateType)
        case "aggregateid": .text(aggregateID)
        case "type": .text(eventType)
        case "payload": isTombstone ? .null : .text(String(decoding: payload, as: UTF8.self))
        case "tracingspancontext": headers.first { $0.name == "traceparent" }.map { .text($0.value) } ?? .null
        default: addedFields[column] ?? .null
        }
    }

    /// The record Debezium's outbox event router makes of this row with `format`'s options
    /// (`DebeziumGoldenTests` compares them with its own): the context headers, `id`, the
    /// additional fields placed in headers, then the stored headers; the key and value as the
    /// converter writes them; the value the payload alone, or with fields placed in the envelope
    /// a struct of it and them.
    func debeziumMessage(_ format: RecordFormat) -> KafkaMessage {
        let router = format.debeziumRouter
        let converter = format.debeziumConverter
        var headers = format.debeziumContext.headers
        headers.append(("id", Array(eventIDText.utf8)))
        var nullHeaders: Set<Int> = []
        var partition = self.partition
        for field in router.additionalFields {
            switch field.placement {
            case .header:
                let value = debeziumValue(of: field.column).text
                if value == nil { nullHeaders.insert(headers.count) }
                headers.append((field.alias, value ?? []))
            case .partition:
                if case .integer(let digits) = debeziumValue(of: field.column) { partition = Int32(digits) }
            case .envelope:
                break
            }
        }
        if !self.headers.isEmpty { headers += self.headers.map { ($0.name, Array($0.value.utf8)) } }
        var message = KafkaMessage(topic: topic, key: converter.key(key), value: [], headers: headers, partition: partition)
        message.nullHeaders = nullHeaders
        if let field = router.eventTimestampField, case .integer(let micros) = debeziumValue(of: field), let micros = Int64(micros) {
            message.timestampMilliseconds = micros / 1000
        }
        let kind = debeziumPayloadKind
        let expanded = router.expandJSONPayload && !isTombstone && kind != .bytes ? DebeziumExpandedPayload.expand(payload) : nil
        if isTombstone && format.debeziumTombstoneOnEmptyPayload {
            message.isTombstone = true
        } else if router.hasEnvelope {
            message.value = debeziumEnvelope(format, expanded: expanded, kind: kind)
        } else if let expanded {
            switch converter {
            case .string: message.value = expanded.text
            case .jsonSchemaless: message.value = expanded.json
            case .json: message.value = DebeziumConverter.envelope(schema: expanded.schemaJSON, payload: expanded.json)
            }
        } else if !isTombstone {
            message.value = converter.value(payload, kind: kind)
        } else if let null = converter.nullValue(kind) {
            message.value = null
        } else {
            message.isTombstone = true
        }
        return message
    }

    /// The value with fields placed in the envelope: Kafka Connect's struct of `payload` (of `kind`) and
    /// those fields, as the converter writes a struct.
    private func debeziumEnvelope(_ format: RecordFormat, expanded: DebeziumExpandedPayload?, kind: DebeziumPayloadKind) -> [UInt8] {
        let router = format.debeziumRouter
        let envelope = router.additionalFields.filter { $0.placement == .envelope }
        let payloadValue: DebeziumValue = isTombstone ? .null
            : .text(kind == .bytes ? Data(payload).base64EncodedString() : String(decoding: payload, as: UTF8.self))
        let members = [("payload", payloadValue)] + envelope.map { ($0.alias, debeziumValue(of: $0.column)) }
        switch format.debeziumConverter {
        case .string:
            // Struct.toString: the fields that are not null, in the schema's order.
            var out = Array("Struct{".utf8)
            for (index, member) in members.filter({ $0.1 != .null }).enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out += Array(member.0.utf8) + [UInt8(ascii: "=")] + (index == 0 && expanded != nil ? expanded!.text : member.1.text ?? [])
            }
            return out + [UInt8(ascii: "}")]
        case .jsonSchemaless:
            return Self.jsonObject(members, payload: expanded?.json)
        case .json:
            var schema = Array(#"{"schema":{"type":"struct","fields":["#.utf8)
            if let expanded {
                schema += DebeziumExpandedPayload.schemaJSON(expanded.schema, field: "payload")
            } else {
                schema += kind.schemaJSON(extra: #","field":"payload""#)
            }
            for field in envelope {
                let column = router.columns[field.column] ?? DebeziumColumn(name: field.column, kind: .string, optional: true)
                schema += Array(#",{"type":""#.utf8) + Array(column.kind.schemaType.utf8) + Array(#"","optional":"#.utf8)
                    + Array((column.optional ? "true" : "false").utf8)
                if let name = column.kind.schemaName { schema += Array(#","name":""#.utf8) + Array(name.utf8) + Array(#"","version":1"#.utf8) }
                schema += Array(#","field":"#.utf8) + DebeziumConverter.jsonString(Array(field.alias.utf8)) + [UInt8(ascii: "}")]
            }
            let routed = router.route.map { debeziumValue(of: $0.field) } ?? .text(aggregateType)
            let name = "\(format.debeziumContext.logicalName).\(router.table).\(routed.text.map { String(decoding: $0, as: UTF8.self) } ?? "").Value"
            schema += Array(#"],"optional":false,"name":"#.utf8) + DebeziumConverter.jsonString(Array(name.utf8))
            return schema + Array(#"},"payload":"#.utf8) + Self.jsonObject(members, payload: expanded?.json) + [UInt8(ascii: "}")]
        }
    }

    /// `members` as a JSON object; the first (`payload`) as `payload` when that is given.
    private static func jsonObject(_ members: [(String, DebeziumValue)], payload: [UInt8]?) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (index, member) in members.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += DebeziumConverter.jsonString(Array(member.0.utf8)) + [UInt8(ascii: ":")] + (index == 0 ? payload ?? member.1.json : member.1.json)
        }
        return out + [UInt8(ascii: "}")]
    }
}
