import OutboxdCore

/// One invalid field of a request body, named by its JSON pointer (`/title`).
public struct FieldError: Sendable, Equatable, Error {
    public var pointer: String
    public var message: String

    public init(pointer: String, message: String) {
        self.pointer = pointer
        self.message = message
    }
}

extension HTTPResponse {
    /// An RFC 9457 `application/problem+json` response. `detail` must not echo secrets or payloads.
    public static func problem(_ status: Int, title: String, detail: String? = nil, errors: [FieldError] = [],
                               headers: [(name: String, value: String)] = []) -> HTTPResponse {
        var object = JSONObject()
        object.append("type", .string("about:blank"))
        object.append("title", .string(title))
        object.append("status", .int(status))
        if let detail { object.append("detail", .string(detail)) }
        if !errors.isEmpty {
            object.append("errors", .array(errors.map { error in
                .object(JSONObject(["pointer": .string(error.pointer), "detail": .string(error.message)]))
            }))
        }
        return HTTPResponse(status: status, headers: [("Content-Type", "application/problem+json")] + headers,
                            body: JSONWriter.bytes(.object(object)))
    }

    public static func notFound(_ detail: String = "no such resource") -> HTTPResponse {
        problem(404, title: "Not Found", detail: detail)
    }

    public static func methodNotAllowed(allowed: [String]) -> HTTPResponse {
        problem(405, title: "Method Not Allowed", detail: "allowed: \(allowed.joined(separator: ", "))",
                headers: [("Allow", allowed.joined(separator: ", "))])
    }

    public static func unprocessable(_ errors: [FieldError]) -> HTTPResponse {
        let detail = errors.map { "\($0.pointer): \($0.message)" }.joined(separator: "; ")
        return problem(422, title: "Unprocessable Content", detail: detail, errors: errors)
    }

    /// 503 with `Retry-After`, for a dependency that is down for now.
    public static func unavailable(_ detail: String, retryAfterSeconds: Int = 1) -> HTTPResponse {
        problem(503, title: "Service Unavailable", detail: detail, headers: [("Retry-After", String(retryAfterSeconds))])
    }
}
