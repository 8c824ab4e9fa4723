import CLibPQ

/// The libpq this process runs with.
public enum PQLibrary {
    /// `PQlibVersion()` of the library loaded at run time as major.minor, e.g. `15.18`.
    public static var version: String { format(PQlibVersion()) }

    /// 150018 → `15.18`; before PostgreSQL 10 the number has three parts (90624 → `9.6.24`).
    static func format(_ number: Int32) -> String {
        number >= 100_000 ? "\(number / 10_000).\(number % 10_000)" : "\(number / 10_000).\(number / 100 % 100).\(number % 100)"
    }
}
