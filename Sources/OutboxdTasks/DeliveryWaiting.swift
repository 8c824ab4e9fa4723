import Foundation

/// How `POST /tasks` with `Prefer: wait=N` learns that its event reached Kafka, without holding a
/// thread while it waits.
public protocol DeliveryWaiting: Sendable {
    /// Calls `then` once: with the event's partition and offset once delivered (nil parts when the
    /// row was already deleted on publish), or with nil when `timeout` passed first or the process
    /// is stopping.
    func awaitDelivery(of eventID: UUID, timeout: Duration, then: @escaping @Sendable ((partition: Int32?, offset: Int64?)?) -> Void)
}

/// `Prefer: wait=N` (RFC 7240): seconds to wait, at most `maximum`; nil when absent or invalid.
public enum PreferWait {
    public static let maximum = 60

    public static func seconds(from header: String?) -> Int? {
        guard let header else { return nil }
        for preference in header.split(whereSeparator: { $0 == "," || $0 == ";" }) {
            let parts = preference.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, parts[0].lowercased() == "wait", let seconds = Int(parts[1]), seconds >= 0 else { continue }
            return min(seconds, maximum)
        }
        return nil
    }
}
