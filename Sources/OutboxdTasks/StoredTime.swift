import OutboxdCore
import OutboxdPostgres

/// A `timestamptz` of a tasks row as stored: an instant the API writes and reads (years 0001–9999,
/// RFC 3339), or a value another writer stored with SQL that RFC 3339 cannot express
/// (`infinity`, `-infinity`, a BC date, a year after 9999), kept as PostgreSQL spells it in our
/// sessions (UTC, `DateStyle` ISO), e.g. `0044-03-15 00:00:00+00 BC`. Either binds back as the
/// same value, so keyset pagination passes such a row like any other.
public enum StoredTime: Sendable, Hashable, PostgresDecodable, PostgresParameter {
    case instant(Timestamp)
    case outOfRange(String)

    public init?(postgresText text: String) {
        if let instant = Timestamp(postgresText: text) {
            self = .instant(instant)
        } else if Self.isOutOfRangeSpelling(text) {
            self = .outOfRange(text)
        } else {
            return nil
        }
    }

    public var postgresText: String {
        switch self {
        case .instant(let instant): instant.rfc3339
        case .outOfRange(let text): text
        }
    }

    public var instant: Timestamp? {
        if case .instant(let instant) = self { instant } else { nil }
    }

    /// The JSON of the field: the RFC 3339 text, or null for a value outside it.
    var json: JSONValue {
        instant.map { .string($0.rfc3339) } ?? .null
    }

    /// True for PostgreSQL's spelling (UTC, ISO) of a valid `timestamptz` outside years
    /// 0001–9999: `infinity`, `-infinity`, `YYYY-MM-DD HH:MM:SS[.ffffff]+00 BC` (4714-11-24 BC at
    /// the earliest) or `YYYYY[Y]-MM-DD HH:MM:SS[.ffffff]+00` (294276 at the latest): exactly what
    /// PostgreSQL accepts back, so a cursor holding one never makes the server refuse it.
    static func isOutOfRangeSpelling(_ text: String) -> Bool {
        if text == "infinity" || text == "-infinity" { return true }
        var bytes = Array(text.utf8)
        let bc = text.hasSuffix(" BC")
        if bc { bytes.removeLast(3) }
        guard bytes.count >= 3, bytes.suffix(3) == Array("+00".utf8) else { return false }
        bytes.removeLast(3)
        var index = 0
        func number(_ minDigits: Int, _ maxDigits: Int) -> Int? {
            var value = 0, count = 0
            while index < bytes.count, count < maxDigits, (0x30...0x39).contains(bytes[index]) {
                value = value * 10 + Int(bytes[index] - 0x30)
                index += 1
                count += 1
            }
            return count >= minDigits ? value : nil
        }
        func skip(_ character: Character) -> Bool {
            guard index < bytes.count, bytes[index] == character.asciiValue else { return false }
            index += 1
            return true
        }
        guard let year = number(4, 6), skip("-"), let month = number(2, 2), skip("-"), let day = number(2, 2), skip(" "),
              let hour = number(2, 2), skip(":"), let minute = number(2, 2), skip(":"), let second = number(2, 2),
              (1...12).contains(month), hour < 24, minute < 60, second < 60
        else { return false }
        if skip(".") { guard number(1, 6) != nil else { return false } }
        guard index == bytes.count else { return false }
        // Year 1 BC is the proleptic Gregorian year 0, a leap year.
        let gregorianYear = bc ? 1 - year : year
        let leap = gregorianYear % 4 == 0 && (gregorianYear % 100 != 0 || gregorianYear % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        guard (1...days).contains(day) else { return false }
        if bc {
            return (1...4714).contains(year) && (year < 4714 || (month, day) >= (11, 24))
        }
        return (10_000...294_276).contains(year)
    }
}
