import Foundation
import OutboxdOutbox
import OutboxdPostgres
import OutboxdTasks

/// Waits for an event's delivery: woken by the in-process relay when there is one, and checking
/// the outbox row (published, or deleted on publish) so a relay in another process, or a report
/// that came before the wait began, is seen too.
struct DeliveryWait: DeliveryWaiting {
    let waiters: DeliveryWaiters?
    let pool: PostgresPool

    func waitForDelivery(of eventID: UUID, timeout: Duration) -> (partition: Int32?, offset: Int64?)? {
        let waiter = waiters?.register(eventID)
        defer { waiters?.remove(eventID) }
        let deadline = ContinuousClock.now + timeout
        while true {
            if let published = try? published(eventID) { return published }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { return nil }
            if let waiter {
                if let report = waiter.wait(timeout: min(remaining, .milliseconds(250))) { return (report.partition, report.offset) }
            } else {
                Thread.sleep(forTimeInterval: 0.01) // polling a relay in another process
            }
        }
    }

    /// The row's partition and offset when published; (nil, nil) when it is gone (deleted on
    /// publish); nil while pending.
    private func published(_ eventID: UUID) throws -> (partition: Int32?, offset: Int64?)? {
        try pool.withConnection { connection in
            guard let row = try connection.query(Self.state, [eventID]).first else { return (nil, nil) }
            guard try row.require(Bool.self, "published") else { return nil }
            return (try row.decode(Int32.self, "kafka_partition"), try row.decode(Int64.self, "kafka_offset"))
        }
    }

    static let state = PostgresStatement(name: "outbox_event_state", sql: """
        SELECT published_at IS NOT NULL AS published, kafka_partition, kafka_offset FROM outbox WHERE event_id = $1
        """)
}
