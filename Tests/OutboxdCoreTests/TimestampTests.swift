import Testing
import OutboxdCore

@Suite struct TimestampTests {
    @Test(arguments: [
        ("1970-01-01T00:00:00Z", Int64(0)),
        ("1970-01-01t00:00:00z", 0),
        ("1970-01-01T00:00:00+00:00", 0),
        ("1970-01-01T00:00:00-00:00", 0),
        ("1969-12-31T23:59:59.999999Z", -1),
        ("2000-02-29T12:00:00.5+02:00", 951_818_400_500_000),
        ("2026-11-24T06:01:06.123456Z", 1_795_500_066_123_456),
        ("2026-11-24T06:01:06.1Z", 1_795_500_066_100_000),
        ("2038-01-19T03:14:08Z", 2_147_483_648_000_000),
        ("1600-03-01T00:00:00Z", -11_670_912_000_000_000),
        ("0001-01-01T00:00:00Z", -62_135_596_800_000_000),
        ("0001-01-01T05:30:00+05:30", -62_135_596_800_000_000),
        ("9999-12-31T23:59:59.999999Z", 253_402_300_799_999_999),
        ("9999-12-31T22:59:59.999999-01:00", 253_402_300_799_999_999),
        ("2026-11-24T06:01:06.123456789Z", 1_795_500_066_123_456),
        ("2026-11-24T06:01:06.999999999+00:00", 1_795_500_066_999_999),
        ("1969-12-31T23:59:59.9999999Z", -1),
        ("2024-02-29T00:00:00Z", 1_709_164_800_000_000),
        ("2026-11-24T11:31:06.123456+05:30", 1_795_500_066_123_456),
        ("2026-11-24T00:01:06.123456-06:00", 1_795_500_066_123_456),
        ("2026-11-24T06:01:06.123456+23:59", 1_795_413_726_123_456),
    ])
    func parsesKnownInstants(text: String, micros: Int64) {
        #expect(Timestamp(rfc3339: text)?.microsecondsSinceEpoch == micros)
        #expect(Timestamp(postgresText: text)?.microsecondsSinceEpoch == micros)
    }

    @Test(arguments: [
        "2023-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2023-04-31T00:00:00Z",
        "2023-13-01T00:00:00Z", "2023-00-01T00:00:00Z", "2023-01-00T00:00:00Z", "2023-01-32T00:00:00Z",
        "2023-01-01T24:00:00Z", "2023-01-01T23:60:00Z", "2023-01-01T23:59:60Z",
        "2023-01-01T00:00:00+24:00", "2023-01-01T00:00:00+05:60", "2023-01-01T00:00:00+0530",
        "2023-01-01T00:00:00+05", "2023-01-01T00:00:00+5:30", "2023-01-01T00:00:00+05:30:15",
        "2023-01-01T00:00:00", "2023-01-01T00:00:00.5", "2023-01-01 00:00:00Z", "2023-01-01T00:00:00 Z",
        "2023-01-01T00:00:00.Z", "2023-01-01T00:00:00.1234567890Z", "2023-01-01T00:00Z", "2023-01-01",
        "0000-12-31T00:00:00Z", "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01", "10000-01-01T00:00:00Z",
        "23-01-01T00:00:00Z", "2023-1-01T00:00:00Z", "2023/01/01T00:00:00Z", " 2023-01-01T00:00:00Z",
        "2023-01-01T00:00:00Z ", "2023-01-01T00:00:00ZZ", "2023-01-01T0a:00:00Z", "", "infinity",
        "2023-01-01T00:00:00,5Z", "2023-01-01T00:00:00+05:30x", "-2023-01-01T00:00:00Z",
    ])
    func rejectsInvalidRFC3339(text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
    }

    @Test(arguments: [
        ("2026-11-24 06:01:06.123456+00", "2026-11-24T06:01:06.123456Z"),
        ("2026-11-24 06:01:06+00", "2026-11-24T06:01:06Z"),
        ("2026-11-24 06:01:06.5-03:30", "2026-11-24T09:31:06.5Z"),
        ("2026-11-24 06:01:06+05:30:15", "2026-11-24T00:30:51Z"),
        ("2026-11-24T06:01:06.123+01", "2026-11-24T05:01:06.123Z"),
        ("2026-11-24t06:01:06-00:00:01", "2026-11-24T06:01:07Z"),
        ("0001-01-01 00:00:00+00", "0001-01-01T00:00:00Z"),
        ("9999-12-31 23:59:59.999999+00", "9999-12-31T23:59:59.999999Z"),
    ])
    func parsesPostgresOutput(postgres: String, rfc3339: String) throws {
        let expected = try #require(Timestamp(rfc3339: rfc3339))
        #expect(Timestamp(postgresText: postgres) == expected)
    }

    @Test func postgresSamplesMatchKnownMicroseconds() {
        #expect(Timestamp(postgresText: "2026-11-24 06:01:06.5-03:30")?.microsecondsSinceEpoch == 1_795_512_666_500_000)
        #expect(Timestamp(postgresText: "2026-11-24 06:01:06+05:30:15")?.microsecondsSinceEpoch == 1_795_480_251_000_000)
    }

    @Test(arguments: [
        "infinity", "-infinity", "2026-11-24 06:01:06+00 BC", "2026-11-24 06:01:06", "2026-11-24 06:01:06+00:00:60",
        "2026-11-24 06:01:06+24", "2026-11-24 06:01:06+0", "2026-11-24  06:01:06+00", "10000-01-01 00:00:00+00",
        "2026-11-24 06:01:06+00:00:00:00", "2026-02-29 06:01:06+00", "0001-01-01 00:00:00+01",
    ])
    func rejectsInvalidPostgresText(text: String) {
        #expect(Timestamp(postgresText: text) == nil)
    }

    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000000Z"),
        (-1, "1969-12-31T23:59:59.999999Z"),
        (1_795_500_066_123_456, "2026-11-24T06:01:06.123456Z"),
        (951_818_400_500_000, "2000-02-29T10:00:00.500000Z"),
        (-62_135_596_800_000_000, "0001-01-01T00:00:00.000000Z"),
        (253_402_300_799_999_999, "9999-12-31T23:59:59.999999Z"),
        (-62_135_596_800_000_001, "+0000-12-31T23:59:59.999999Z"),
        (253_402_300_800_000_000, "+10000-01-01T00:00:00.000000Z"),
        (-62_198_755_200_000_000, "-0001-01-01T00:00:00.000000Z"),
    ])
    func formatsWithSixFractionDigits(micros: Int64, text: String) {
        let timestamp = Timestamp(microsecondsSinceEpoch: micros)
        #expect(timestamp.rfc3339 == text)
        #expect(timestamp.description == text)
    }

    @Test func formatsExtremeValuesWithoutTrapping() {
        #expect(Timestamp(microsecondsSinceEpoch: .max).rfc3339 == "+294247-01-10T04:00:54.775807Z")
        #expect(Timestamp(microsecondsSinceEpoch: .min).rfc3339 == "-290308-12-21T19:59:05.224192Z")
        #expect(Timestamp(rfc3339: Timestamp(microsecondsSinceEpoch: .max).rfc3339) == nil)
    }

    @Test func boundsAreTheParseableRange() {
        #expect(Timestamp(rfc3339: "0001-01-01T00:00:00Z") == .earliestParseable)
        #expect(Timestamp(rfc3339: "9999-12-31T23:59:59.999999Z") == .latestParseable)
    }

    @Test func consecutiveDaysAreOneDayApart() throws {
        let day: Int64 = 86_400_000_000
        for years in [1...4, 1582...1584, 1895...2105, 9996...9999] {
            var previous: Int64?
            for year in years {
                for month in 1...12 {
                    let length = [31, year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28,
                                  31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
                    for dayOfMonth in 1...length {
                        let text = pad(year, 4) + "-" + pad(month, 2) + "-" + pad(dayOfMonth, 2) + "T00:00:00Z"
                        let micros = try #require(Timestamp(rfc3339: text)).microsecondsSinceEpoch
                        if let previous { #expect(micros - previous == day, "\(text)") }
                        previous = micros
                    }
                }
            }
        }
    }

    @Test func roundTripsSeededRandomInstants() throws {
        var generator = SplitMix64(seed: 0x5EED_2026)
        let range = Timestamp.earliestParseable.microsecondsSinceEpoch...Timestamp.latestParseable.microsecondsSinceEpoch
        for i in 0..<4_000 {
            let micros = i % 2 == 0
                ? Int64.random(in: range, using: &generator)
                : Int64.random(in: -4_000_000_000_000_000...4_000_000_000_000_000, using: &generator)
            let timestamp = Timestamp(microsecondsSinceEpoch: micros)
            #expect(Timestamp(rfc3339: timestamp.rfc3339) == timestamp)

            let offsetSeconds = Int64.random(in: -(15 * 3600 + 59 * 60 + 59)...(15 * 3600 + 59 * 60 + 59), using: &generator)
            let local = micros + offsetSeconds * 1_000_000
            guard range.contains(local) else { continue }
            let postgres = postgresText(localMicros: local, offsetSeconds: offsetSeconds)
            #expect(Timestamp(postgresText: postgres) == timestamp, "\(postgres)")
        }
    }

    @Test func orderingAndHashing() {
        let a = Timestamp(microsecondsSinceEpoch: 1)
        let b = Timestamp(microsecondsSinceEpoch: 2)
        #expect(a < b)
        #expect(!(b < a))
        #expect([b, a].sorted() == [a, b])
        #expect(Set([a, b, Timestamp(microsecondsSinceEpoch: 1)]).count == 2)
    }

    @Test func nowIsPlausible() throws {
        let now = Timestamp.now()
        #expect(now > Timestamp(rfc3339: "2024-01-01T00:00:00Z")!)
        #expect(now < Timestamp(rfc3339: "2200-01-01T00:00:00Z")!)
        #expect(Timestamp.now() >= now)
    }

    /// Builds PostgreSQL-style text (space separator, trailing fraction zeros
    /// dropped, `±HH[:MM[:SS]]` offset) for the instant whose local wall time
    /// is `localMicros` at `offsetSeconds` east of UTC.
    private func postgresText(localMicros: Int64, offsetSeconds: Int64) -> String {
        var text = Timestamp(microsecondsSinceEpoch: localMicros).rfc3339
        text.removeLast()
        text = text.replacingFirst("T", with: " ")
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        let magnitude = abs(offsetSeconds)
        text += (offsetSeconds < 0 ? "-" : "+") + pad(Int(magnitude / 3600), 2)
        if magnitude % 3600 != 0 {
            text += ":" + pad(Int(magnitude / 60 % 60), 2)
            if magnitude % 60 != 0 { text += ":" + pad(Int(magnitude % 60), 2) }
        }
        return text
    }

    private func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

private extension String {
    func replacingFirst(_ target: Character, with replacement: Character) -> String {
        guard let index = firstIndex(of: target) else { return self }
        var copy = self
        copy.replaceSubrange(index...index, with: [replacement])
        return copy
    }
}
