import OutboxdCore
import OutboxdTestSupport

/// Random RFC 3339 timestamps near the edges (leap days, year 1 and 9999, offsets, 1–9 fraction
/// digits), with the instant each one names computed independently of `Timestamp`'s parser.
enum RFC3339Sample {
    /// The text and its instant, or nil when the instant is outside 0001…9999 (the parser's range).
    static func random(_ random: inout SplitMix64) -> (String, Timestamp?) {
        let year = random.chance(20) ? random.pick([1, 2, 1970, 2000, 2100, 9999]) : random.int(1...9999)
        let month = random.int(1...12)
        let day = random.chance(20) ? daysIn(month, year) : random.int(1...daysIn(month, year))
        let hour = random.int(0...23), minute = random.int(0...59), second = random.int(0...59)
        var text = pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) + random.pick(["T", "t"])
            + pad(hour, 2) + ":" + pad(minute, 2) + ":" + pad(second, 2)
        var micros = 0
        if random.chance(50) {
            let digits = (0..<random.int(1...9)).map { _ in random.int(0...9) }
            text += "." + digits.map(String.init).joined()
            micros = (digits + [0, 0, 0, 0, 0, 0]).prefix(6).reduce(0) { $0 * 10 + $1 }
        }
        var offset = 0
        if random.chance(40) {
            text += random.pick(["Z", "z"])
        } else {
            let hours = random.int(0...23), minutes = random.int(0...59)
            let sign = random.chance(50) ? 1 : -1
            text += (sign > 0 ? "+" : "-") + pad(hours, 2) + ":" + pad(minutes, 2)
            offset = sign * (hours * 3600 + minutes * 60)
        }
        let seconds = daysFromCivil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset
        let total = Int64(seconds) * 1_000_000 + Int64(micros)
        let inRange = (Timestamp.earliestParseable.microsecondsSinceEpoch...Timestamp.latestParseable.microsecondsSinceEpoch).contains(total)
        return (text, inRange ? Timestamp(microsecondsSinceEpoch: total) : nil)
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    private static func daysIn(_ month: Int, _ year: Int) -> Int {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    private static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * ((month + 9) % 12) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
