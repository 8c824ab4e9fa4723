import Foundation
import OutboxdCore

/// The keyset position of `GET /tasks` pagination: opaque to clients (base64url of
/// `<created_at µs>,<id>`, or `t:<created_at as PostgreSQL spells it>,<id>` after a row whose
/// `created_at` another writer set outside RFC 3339, e.g. `infinity`).
public struct TaskCursor: Sendable, Equatable {
    public var createdAt: StoredTime
    public var id: UUID

    /// Before every task, also those other writers dated `-infinity` or BC: `-infinity` and the nil UUID.
    static let start = TaskCursor(createdAt: .outOfRange("-infinity"), id: UUID(uuidString: "00000000-0000-0000-0000-000000000000")!)

    private static let range = Timestamp.earliestParseable.microsecondsSinceEpoch...Timestamp.latestParseable.microsecondsSinceEpoch

    public init(createdAt: StoredTime, id: UUID) {
        self.createdAt = createdAt
        self.id = id
    }

    public init?(token: String) {
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard token.count <= 128 else { return nil }
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8) else { return nil }
        let parts = text.split(separator: ",")
        guard parts.count == 2, let id = UUID(text: parts[1]) else { return nil }
        if parts[0].hasPrefix("t:") {
            // Only what PostgreSQL accepts back, so a forged position is a 400, never a 500.
            let stored = String(parts[0].dropFirst(2))
            guard StoredTime.isOutOfRangeSpelling(stored) else { return nil }
            self.init(createdAt: .outOfRange(stored), id: id)
        } else {
            // A position outside years 0001…9999 names no task, and PostgreSQL refuses it (a 500).
            guard let micros = Int64(parts[0]), Self.range.contains(micros) else { return nil }
            self.init(createdAt: .instant(Timestamp(microsecondsSinceEpoch: micros)), id: id)
        }
    }

    public var token: String {
        let position = switch createdAt {
        case .instant(let instant): "\(instant.microsecondsSinceEpoch)"
        case .outOfRange(let stored): "t:" + stored
        }
        return Data("\(position),\(id.lowercaseString)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
