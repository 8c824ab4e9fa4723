import Foundation
import OutboxdPostgres

/// Where events stand, for requests that wait for their delivery (`Prefer: wait`): one statement
/// for every waiting event, however many there are.
public enum OutboxDeliveries {
    /// A delivered event's partition and offset; both nil when its row is gone (deleted on publish,
    /// `RELAY_RETENTION=0`).
    public typealias Delivered = (partition: Int32?, offset: Int64?)

    /// The delivered events among `eventIDs`; pending ones are left out.
    public static func delivered(_ eventIDs: [UUID], on connection: PQConnection) throws -> [UUID: Delivered] {
        var found: [UUID: Delivered] = [:]
        var pending = Set<UUID>()
        for row in try connection.query(state, [eventIDs]) {
            let id = try row.require(UUID.self, "event_id")
            if try row.require(Bool.self, "published") {
                found[id] = (try row.decode(Int32.self, "kafka_partition"), try row.decode(Int64.self, "kafka_offset"))
            } else {
                pending.insert(id)
            }
        }
        for id in eventIDs where found[id] == nil && !pending.contains(id) { found[id] = (nil, nil) }
        return found
    }

    static let state = PostgresStatement(name: "outbox_delivery_state", sql: """
        SELECT event_id, published_at IS NOT NULL AS published, kafka_partition, kafka_offset
        FROM outbox WHERE event_id = ANY($1::uuid[])
        """)
}
