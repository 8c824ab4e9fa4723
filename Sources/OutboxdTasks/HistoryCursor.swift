import Foundation

/// The keyset position of `GET /tasks/{id}/history` pagination: the `audit_log` id of the last
/// item of a page, opaque to clients (base64url of `h,<id>`). The page after it continues after
/// that row's `(occurred_at, id)`, read from the row itself, so odd timestamps in rows never reach
/// the token.
public struct HistoryCursor: Sendable, Equatable {
    public var auditID: Int64

    public init(auditID: Int64) {
        self.auditID = auditID
    }

    public init?(token: String) {
        guard token.count <= 64 else { return nil }
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8),
              text.hasPrefix("h,"), let id = Int64(text.dropFirst(2)), id > 0 else { return nil }
        self.init(auditID: id)
    }

    public var token: String {
        Data("h,\(auditID)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
