#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An instant with microsecond precision (PostgreSQL's `timestamptz`
/// resolution), stored as microseconds since 1970-01-01T00:00:00Z.
///
/// Parsing accepts years 0001–9999; ``rfc3339`` round-trips every instant
/// in that range.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let microsecondsSinceEpoch: Int64

    public init(microsecondsSinceEpoch: Int64) {
        self.microsecondsSinceEpoch = microsecondsSinceEpoch
    }

    /// The current wall-clock time (`CLOCK_REALTIME`).
    public static func now() -> Timestamp {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Timestamp(microsecondsSinceEpoch: Int64(time.tv_sec) * 1_000_000 + Int64(time.tv_nsec) / 1_000)
    }

    /// 0001-01-01T00:00:00Z, the earliest parseable instant.
    public static let earliestParseable = Timestamp(microsecondsSinceEpoch: -62_135_596_800_000_000)
    /// 9999-12-31T23:59:59.999999Z, the latest parseable instant.
    public static let latestParseable = Timestamp(microsecondsSinceEpoch: 253_402_300_799_999_999)

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.microsecondsSinceEpoch < rhs.microsecondsSinceEpoch
    }

    public var description: String { rfc3339 }
}
