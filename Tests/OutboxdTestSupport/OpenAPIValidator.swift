import Foundation
import OutboxdCore

/// Checks HTTP responses against an OpenAPI 3.1 document: the status is documented for the
/// operation, the documented required headers are there, and the body has a documented media
/// type and validates against its schema.
///
/// A body's media type is looked up exactly, then without parameters, then as the ranges
/// `type/*` and `*/*` (the only one a response without `Content-Type` matches).
///
/// The schemas are checked with the subset of JSON Schema the document uses: `type` (one or a
/// list, so `["string", "null"]`), `properties`, `required`, `additionalProperties` (false or a
/// schema), `enum`, `format` (`date-time`, `uuid`), `items`, `minLength`/`maxLength`,
/// `minimum`/`maximum`, `minProperties`, `pattern` and `$ref` to `#/components/…`. A keyword outside it
/// is reported, never skipped, so the document cannot claim what the check does not test.
public struct OpenAPIValidator: Sendable {
    public let document: JSONValue

    /// Keywords that only annotate.
    static let annotations: Set<String> = ["description", "default", "example", "examples", "title", "deprecated"]
    static let keywords: Set<String> = ["$ref", "type", "properties", "required", "additionalProperties", "enum", "format", "items",
                                        "minLength", "maxLength", "minimum", "maximum", "minProperties", "pattern"]

    public init(document: JSONValue) { self.document = document }

    public init(text: String) throws { self.init(document: try JSONParser.parse(Array(text.utf8))) }

    /// Every `METHOD /template` the document describes (`GET /tasks/{id}`).
    public var operations: [String] {
        guard let paths = document["paths"]?.objectValue else { return [] }
        var result: [String] = []
        for (template, item) in paths {
            for method in ["get", "put", "post", "delete", "options", "head", "patch", "trace"] where item[method] != nil {
                result.append("\(method.uppercased()) \(template)")
            }
        }
        return result
    }

    /// The documented path template that `path` (without its query) matches: literal segments
    /// before `{captures}`.
    public func template(of path: String) -> String? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        guard let paths = document["paths"]?.objectValue else { return nil }
        let candidates = paths.keys.filter { template in
            let parts = template.split(separator: "/", omittingEmptySubsequences: true)
            return parts.count == segments.count && zip(parts, segments).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
        }
        return candidates.min { $0.filter { $0 == "{" }.count < $1.filter { $0 == "{" }.count }
    }

    /// What is wrong with `exchange` (empty when it conforms), or nil when the document has no
    /// operation for its method and path (an unknown route: the router's 404 or 405).
    public func problems(of exchange: RecordedExchange) -> [String]? {
        let path = String(exchange.path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        let method = exchange.method == "HEAD" ? "get" : exchange.method.lowercased()
        guard let template = template(of: path), let operation = document["paths"]?[template]?[method] else { return nil }
        let name = "\(exchange.method) \(template) → \(exchange.status)"
        guard let declared = operation["responses"]?[String(exchange.status)] ?? operation["responses"]?["default"] else {
            return ["\(name): status \(exchange.status) is not documented for \(method.uppercased()) \(template)"]
        }
        let response = resolve(declared)
        var problems: [String] = []
        for (header, spec) in response["headers"]?.objectValue ?? JSONObject() {
            let resolved = resolve(spec)
            if resolved["required"]?.boolValue == true, exchange.header(header) == nil {
                problems.append("\(name): documented header \(header) is missing")
            }
        }
        let content = response["content"]?.objectValue
        let hasBody = !(exchange.method == "HEAD" || exchange.status == 204 || exchange.status == 304)
        guard hasBody else { return problems }
        guard let content, !content.isEmpty else {
            if !exchange.body.isEmpty { problems.append("\(name): a body where the document has no content") }
            return problems
        }
        let contentType = exchange.header("Content-Type") ?? ""
        let mediaType = Self.mediaType(contentType)
        let range = mediaType.split(separator: "/").first.map { "\($0)/*" }
        guard let entry = content[contentType] ?? content.first(where: { Self.mediaType($0.key) == mediaType })?.value
                ?? range.flatMap({ content[$0] }) ?? content["*/*"] else {
            problems.append("\(name): Content-Type \(contentType) is not documented (documented: \(content.keys.joined(separator: ", ")))")
            return problems
        }
        guard let schema = entry["schema"] else { return problems }
        if mediaType == "application/json" || mediaType.hasSuffix("+json") {
            do {
                let body = try JSONParser.parse(exchange.body)
                problems += validate(body, against: schema, at: "").map { "\(name): body \($0)" }
            } catch {
                problems.append("\(name): the body is not JSON: \(error)")
            }
        } else {
            problems += validate(.string(String(decoding: exchange.body, as: UTF8.self)), against: schema, at: "").map { "\(name): body \($0)" }
        }
        return problems
    }

    /// Where `value` breaks `schema`, each as `<JSON pointer>: what`.
    public func validate(_ value: JSONValue, against schema: JSONValue, at pointer: String) -> [String] {
        guard let object = schema.objectValue else {
            if schema.boolValue == true { return [] }
            if schema.boolValue == false { return ["\(pointer.isEmpty ? "/" : pointer): no value is allowed here"] }
            return ["\(pointer): the schema is not an object"]
        }
        var problems: [String] = []
        let at = pointer.isEmpty ? "/" : pointer
        for key in object.keys where !Self.keywords.contains(key) && !Self.annotations.contains(key) {
            problems.append("\(at): the validator does not know the keyword \(key)")
        }
        if let reference = object["$ref"]?.stringValue {
            guard let target = lookUp(reference) else { return problems + ["\(at): unresolved $ref \(reference)"] }
            problems += validate(value, against: target, at: pointer)
        }
        if let type = object["type"] {
            let allowed = type.arrayValue?.compactMap(\.stringValue) ?? [type.stringValue].compactMap { $0 }
            guard allowed.contains(where: { Self.matches(value, type: $0) }) else {
                return problems + ["\(at): is \(value.typeName), not \(allowed.joined(separator: " or "))"]
            }
        }
        if let values = object["enum"]?.arrayValue, !values.contains(value) {
            problems.append("\(at): \(JSONWriter.string(value).prefix(80)) is not one of \(JSONWriter.string(.array(values)))")
        }
        switch value {
        case .string(let text):
            let length = text.unicodeScalars.count
            if let minimum = object["minLength"]?.numberText.flatMap({ Int($0) }), length < minimum {
                problems.append("\(at): shorter than \(minimum)")
            }
            if let maximum = object["maxLength"]?.numberText.flatMap({ Int($0) }), length > maximum {
                problems.append("\(at): longer than \(maximum)")
            }
            if let pattern = object["pattern"]?.stringValue {
                if let regex = try? Regex(pattern) {
                    if !text.contains(regex) { problems.append("\(at): \(text.prefix(80)) does not match \(pattern)") }
                } else {
                    problems.append("\(at): the pattern \(pattern) is not a regular expression")
                }
            }
            switch object["format"]?.stringValue {
            case "date-time"?: if Timestamp(rfc3339: text) == nil { problems.append("\(at): \(text.prefix(80)) is not an RFC 3339 date-time") }
            case "uuid"?: if UUID(text: text) == nil { problems.append("\(at): \(text.prefix(80)) is not a UUID") }
            case nil: break
            case let other?: problems.append("\(at): the validator does not know the format \(other)")
            }
        case .number(let text):
            if let number = Double(text) {
                if let minimum = object["minimum"]?.numberText.flatMap(Double.init), number < minimum { problems.append("\(at): below \(minimum)") }
                if let maximum = object["maximum"]?.numberText.flatMap(Double.init), number > maximum { problems.append("\(at): above \(maximum)") }
            }
        case .array(let items):
            if let itemSchema = object["items"] {
                for (index, item) in items.enumerated() { problems += validate(item, against: itemSchema, at: "\(pointer)/\(index)") }
            }
        case .object(let members):
            let properties = object["properties"]?.objectValue ?? JSONObject()
            for name in object["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where members[name] == nil {
                problems.append("\(at): the required property \(name) is missing")
            }
            if let minimum = object["minProperties"]?.numberText.flatMap({ Int($0) }), members.count < minimum {
                problems.append("\(at): fewer than \(minimum) properties")
            }
            for (name, member) in members {
                if let propertySchema = properties[name] {
                    problems += validate(member, against: propertySchema, at: "\(pointer)/\(name)")
                } else if let additional = object["additionalProperties"] {
                    if additional.boolValue == false {
                        problems.append("\(at): the property \(name) is not documented")
                    } else if additional.objectValue != nil {
                        problems += validate(member, against: additional, at: "\(pointer)/\(name)")
                    }
                }
            }
        default:
            break
        }
        return problems
    }

    /// A `$ref`'d object (response, header, parameter) resolved; anything else as it is.
    func resolve(_ value: JSONValue) -> JSONValue {
        var current = value
        for _ in 0..<8 {
            guard let reference = current["$ref"]?.stringValue, let target = lookUp(reference) else { return current }
            current = target
        }
        return current
    }

    /// `#/components/schemas/Task` → that value.
    func lookUp(_ reference: String) -> JSONValue? {
        guard reference.hasPrefix("#/") else { return nil }
        var current: JSONValue? = document
        for part in reference.dropFirst(2).split(separator: "/") {
            let key = part.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            current = current?[key]
        }
        return current
    }

    static func mediaType(_ contentType: String) -> String {
        (contentType.split(separator: ";", maxSplits: 1).first ?? "").trimmingCharacters(in: .whitespaces).lowercased()
    }

    static func matches(_ value: JSONValue, type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object), ("number", .number): true
        case ("integer", .number(let text)): !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" })
        default: false
        }
    }
}

/// One request and its response as the test client saw them.
public struct RecordedExchange: Sendable {
    public let method: String
    /// The request target, with its query.
    public let path: String
    public let status: Int
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]

    public init(method: String, path: String, status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.method = method
        self.path = path
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}
