import OutboxdCore

/// A payload as Debezium's `table.expand.json.payload=true` makes it: the JSON object parsed, a
/// Kafka Connect schema inferred from it and a struct of its values (Debezium's `JsonSchemaData`),
/// written as the converter writes a struct. Compared with Debezium's records in
/// `DebeziumGoldenTests` (`*-expand-json.json`).
///
/// Where Debezium's expansion fails — a payload that is no object (a string, a number, an array),
/// a member named `""`, an array of mixed types — it leaves the payload a string, and so does this.
/// Where Debezium fails later, after it took the inferred schema (an integer beyond 64 bits, a
/// top-level array it could infer, an array of objects whose members disagree in type), its
/// StringConverter sends the payload's text and its JsonConverter stops the connector; here the
/// payload stays a string under every converter.
struct DebeziumExpandedPayload: Equatable {
    indirect enum Schema: Equatable {
        case string, boolean, int32, int64, float64
        case array(Schema)
        /// `name`: the member's path from `payload` (`payload.a.b`); nil inside an array of arrays.
        case structure(name: String?, fields: [Field])
    }

    struct Field: Equatable {
        let name: String
        let schema: Schema
    }

    indirect enum Value: Equatable {
        case null
        case string(String)
        case boolean(Bool)
        /// An int32's or int64's digits.
        case integer(String)
        case double(Double)
        case list([Value])
        /// The values of the schema's fields, in its order; `.null` for a member the object lacks.
        case structure([Value])
    }

    let schema: Schema
    let value: Value

    private struct Unexpandable: Error {}

    /// The expansion of a jsonb or text payload's text, or nil where Debezium's leaves it a string:
    /// expanded only when its first byte opens an object, a key that comes twice keeping its last
    /// value at its first place (Jackson's reading; jsonb has none).
    static func expand(_ payload: [UInt8]) -> DebeziumExpandedPayload? {
        guard payload.first == UInt8(ascii: "{"),
              case .object(let object)? = try? JSONParser.parse(payload, maxDepth: 64, duplicateKeys: .lastWins) else { return nil }
        let document = JSONValue.object(object)
        do {
            guard let schema = try schema(key: "payload", document) else { return nil }
            return DebeziumExpandedPayload(schema: schema, value: try value(document, schema))
        } catch {
            return nil
        }
    }

    /// `JsonSchemaData.toConnectSchema` with its defaults (a null member and an empty array are
    /// left out): nil for those.
    private static func schema(key: String?, _ node: JSONValue) throws -> Schema? {
        switch node {
        case .null: return nil
        case .string: return .string
        case .bool: return .boolean
        case .number(let text): return try numberSchema(text)
        case .array(let elements):
            guard !elements.isEmpty else { return nil }
            return .array(try elementSchema(key: key, elements))
        case .object(let object):
            var fields: [Field] = []
            for member in object.members {
                // Connect refuses a field without a name: the whole expansion fails.
                guard !member.key.isEmpty else { throw Unexpandable() }
                let path = (key.map { $0.isEmpty ? "" : $0 + "." } ?? "") + member.key
                if let schema = try schema(key: path, member.value), !fields.contains(where: { $0.name == member.key }) {
                    fields.append(Field(name: member.key, schema: schema))
                }
            }
            return .structure(name: key, fields: fields)
        }
    }

    /// Jackson's number nodes: a fraction or exponent is a double; an integer an int, a long, or
    /// (beyond 64 bits) a BigInteger, whose value Connect's FLOAT64 field then refuses.
    private static func numberSchema(_ text: String) throws -> Schema {
        if text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) { return .float64 }
        if Int32(text) != nil { return .int32 }
        if Int64(text) != nil { return .int64 }
        throw Unexpandable()
    }

    /// `toConnectSchemaWithCycles`: the schema of the first element that is not null, every other
    /// element of its JSON type (and number kind); for objects, their schemas merged in the order
    /// first seen (Debezium merges them out of a HashSet, in an order of its own).
    private static func elementSchema(key: String?, _ elements: [JSONValue]) throws -> Schema {
        guard let sample = elements.first(where: { !$0.isNull }) else { throw Unexpandable() }
        for element in elements where !element.isNull {
            guard element.typeName == sample.typeName else { throw Unexpandable() }
            if case .number(let text) = element, case .number(let first) = sample, try numberSchema(text) != numberSchema(first) {
                throw Unexpandable()
            }
        }
        guard case .object = sample else {
            guard let schema = try schema(key: nil, sample) else { throw Unexpandable() }
            return schema
        }
        var merged: [Field] = []
        var seen: [Schema] = []
        for element in elements {
            guard case .object = element, let schema = try schema(key: key, element), !seen.contains(schema) else { continue }
            seen.append(schema)
            guard case .structure(_, let fields) = schema else { continue }
            for field in fields where !merged.contains(where: { $0.name == field.name }) { merged.append(field) }
        }
        return .structure(name: key, fields: merged)
    }

    /// `toConnectData`, with the checks Connect's `Struct.put` makes of each value.
    private static func value(_ node: JSONValue, _ schema: Schema) throws -> Value {
        switch (node, schema) {
        case (.null, _): return .null
        case (.string(let text), .string): return .string(text)
        case (.bool(let flag), .boolean): return .boolean(flag)
        case (.number(let text), .int32) where Int32(text) != nil && !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }):
            return .integer(text)
        case (.number(let text), .int64) where Int64(text) != nil && !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }):
            return .integer(text)
        case (.number(let text), .float64) where text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }):
            guard let double = Double(text), double.isFinite else { throw Unexpandable() }
            return .double(double)
        case (.array(let elements), .array(let item)):
            return .list(try elements.map { try value($0, item) })
        case (.object(let object), .structure(_, let fields)):
            return .structure(try fields.map { field in try object[field.name].map { try value($0, field.schema) } ?? .null })
        default:
            throw Unexpandable()
        }
    }
}

extension DebeziumExpandedPayload {
    /// `Struct.toString` (StringConverter): `Struct{a=1,b=[x, y]}`, fields that are null left out.
    var text: [UInt8] { Array(Self.text(value, schema).utf8) }

    private static func text(_ value: Value, _ schema: Schema) -> String {
        switch (value, schema) {
        case (.string(let text), _): text
        case (.boolean(let flag), _): flag ? "true" : "false"
        case (.integer(let digits), _): digits
        case (.double(let double), _): javaDouble(double)
        case (.list(let elements), .array(let item)): "[" + elements.map { text($0, item) }.joined(separator: ", ") + "]"
        case (.structure(let values), .structure(_, let fields)):
            "Struct{" + zip(fields, values).filter { $0.1 != .null }.map { "\($0.0.name)=" + text($0.1, $0.0.schema) }.joined(separator: ",") + "}"
        default: "null"
        }
    }

    /// JsonConverter's value (`convertToJson`): every field of the schema, null where absent.
    var json: [UInt8] { Self.json(value, schema) }

    private static func json(_ value: Value, _ schema: Schema) -> [UInt8] {
        switch (value, schema) {
        case (.null, _): return Array("null".utf8)
        case (.string(let text), _): return DebeziumConverter.jsonString(Array(text.utf8))
        case (.boolean(let flag), _): return Array((flag ? "true" : "false").utf8)
        case (.integer(let digits), _): return Array(digits.utf8)
        case (.double(let double), _): return Array(javaDouble(double).utf8)
        case (.list(let elements), .array(let item)):
            return [UInt8(ascii: "[")] + elements.map { json($0, item) }.joined(separator: [UInt8(ascii: ",")]) + [UInt8(ascii: "]")]
        case (.structure(let values), .structure(_, let fields)):
            let members = zip(fields, values).map { DebeziumConverter.jsonString(Array($0.0.name.utf8)) + [UInt8(ascii: ":")] + json($0.1, $0.0.schema) }
            return [UInt8(ascii: "{")] + members.joined(separator: [UInt8(ascii: ",")]) + [UInt8(ascii: "}")]
        default:
            return Array("null".utf8)
        }
    }

    /// JsonConverter's schema (`asJsonSchema`): type, items or fields, optional, name.
    var schemaJSON: [UInt8] { Self.schemaJSON(schema) }

    static func schemaJSON(_ schema: Schema, field: String? = nil) -> [UInt8] {
        var out = Array(#"{"type":""#.utf8)
        switch schema {
        case .string: out += Array("string\"".utf8)
        case .boolean: out += Array("boolean\"".utf8)
        case .int32: out += Array("int32\"".utf8)
        case .int64: out += Array("int64\"".utf8)
        case .float64: out += Array("double\"".utf8)
        case .array(let item): out += Array(#"array","items":"#.utf8) + schemaJSON(item)
        case .structure(_, let fields):
            out += Array(#"struct","fields":["#.utf8) + fields.map { schemaJSON($0.schema, field: $0.name) }.joined(separator: [UInt8(ascii: ",")])
                + [UInt8(ascii: "]")]
        }
        out += Array(#","optional":true"#.utf8)
        if case .structure(let name?, _) = schema { out += Array(#","name":"#.utf8) + DebeziumConverter.jsonString(Array(name.utf8)) }
        if let field { out += Array(#","field":"#.utf8) + DebeziumConverter.jsonString(Array(field.utf8)) }
        return out + [UInt8(ascii: "}")]
    }

    /// Java's `Double.toString`, which Connect's StringConverter and Jackson both write: the
    /// shortest digits that read back as the same double (Java 19+; Java 17's older algorithm
    /// gives more digits for a few values), as `123.45` from 10⁻³ up to 10⁷, else as `1.2345E7`.
    static func javaDouble(_ double: Double) -> String {
        if double == 0 { return double.sign == .minus ? "-0.0" : "0.0" }
        let sign = double < 0 ? "-" : ""
        // Swift's description has the shortest digits too: "1e-07", "12345678.9", "1.0", "3e+20".
        let shortest = "\(double.magnitude)"
        let mantissa = shortest.split(separator: "e").first.map(String.init) ?? shortest
        let exponent = shortest.split(separator: "e").dropFirst().first.flatMap { Int($0) } ?? 0
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        let integer = String(parts[0]), fraction = parts.count > 1 ? String(parts[1]) : ""
        var digits = integer + fraction
        var pointAt = integer.count + exponent // digits before the decimal point
        while digits.first == "0" && digits.count > 1 { digits.removeFirst(); pointAt -= 1 }
        while digits.last == "0" && digits.count > 1 { digits.removeLast() }
        if double.magnitude >= 1e-3 && double.magnitude < 1e7 {
            if pointAt <= 0 { return sign + "0." + String(repeating: "0", count: -pointAt) + digits }
            if pointAt >= digits.count { return sign + digits + String(repeating: "0", count: pointAt - digits.count) + ".0" }
            return sign + digits.prefix(pointAt) + "." + digits.dropFirst(pointAt)
        }
        let rest = digits.dropFirst()
        return sign + digits.prefix(1) + "." + (rest.isEmpty ? "0" : rest) + "E" + String(pointAt - 1)
    }
}
