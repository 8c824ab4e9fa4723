import OutboxdCore
import OutboxdHTTP

/// Checks a request's content type and parses its JSON body: 415 for another media type,
/// 400 for malformed JSON (with the byte offset).
enum JSONBody {
    static func parse(_ request: HTTPRequest, alsoAccepting extra: [String] = []) throws(ResponseError) -> JSONValue {
        let accepted = ["application/json"] + extra
        guard let type = request.mediaType, accepted.contains(type) else {
            throw ResponseError(.problem(415, title: "Unsupported Media Type",
                                         detail: "Content-Type must be \(accepted.joined(separator: " or "))",
                                         headers: [("Accept-Patch", accepted.joined(separator: ", "))]))
        }
        do {
            return try JSONParser.parse(request.body)
        } catch {
            throw ResponseError(.problem(400, title: "Bad Request", detail: "malformed JSON: \(error)"))
        }
    }
}
