import Foundation
import OutboxdCore

/// The keyset position of `GET /tasks` pagination: opaque to clients (base64url of
/// `<created_at µs>,<id>`).
public struct TaskCursor: Sendable, Equatable {
    public var createdAt: Timestamp
    public var id: UUID

    /// Before every task: 0001-01-01T00:00:00Z and the nil UUID.
    static let start = TaskCursor(createdAt: Timestamp(microsecondsSinceEpoch: -62_135_596_800_000_000),
                                  id: UUID(uuidString: "00000000-0000-0000-0000-000000000000")!)

    private static let range = Timestamp.earliestParseable.microsecondsSinceEpoch...Timestamp.latestParseable.microsecondsSinceEpoch

    public init(createdAt: Timestamp, id: UUID) {
        self.createdAt = createdAt
        self.id = id
    }

    public init?(token: String) {
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard token.count <= 128 else { return nil }
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8) else { return nil }
        let parts = text.split(separator: ",")
        // A position outside years 0001…9999 names no task, and PostgreSQL refuses it (a 500).
        guard parts.count == 2, let micros = Int64(parts[0]), Self.range.contains(micros), let id = UUID(text: parts[1]) else { return nil }
        self.init(createdAt: Timestamp(microsecondsSinceEpoch: micros), id: id)
    }

    public var token: String {
        Data("\(createdAt.microsecondsSinceEpoch),\(id.lowercaseString)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
