extension Timestamp {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (RFC 3339; `t` and
    /// `z` may be lowercase). The fraction takes 1–9 digits, truncated to
    /// microseconds. Returns nil for any invalid field or an instant outside
    /// 0001-01-01T00:00:00Z…9999-12-31T23:59:59.999999Z.
    public init?(rfc3339 text: String) {
        self.init(parsing: text, grammar: .rfc3339)
    }

    /// Parses PostgreSQL `timestamptz` output under `DateStyle = ISO`, e.g.
    /// `2026-11-24 06:01:06.123456+00` or `…06:01:06.5-03:30` or
    /// `…06:01:06+05:30:15`. Also accepts a `T` separator and everything
    /// ``init(rfc3339:)`` accepts; rejects `infinity` and BC dates.
    public init?(postgresText text: String) {
        self.init(parsing: text, grammar: .postgres)
    }

    private enum Grammar {
        case rfc3339
        case postgres
    }

    private init?(parsing text: String, grammar: Grammar) {
        var text = text
        guard let micros = text.withUTF8({ Self.parseMicroseconds($0, grammar: grammar) }) else { return nil }
        self.init(microsecondsSinceEpoch: micros)
    }

    private static func parseMicroseconds(_ bytes: UnsafeBufferPointer<UInt8>, grammar: Grammar) -> Int64? {
        var scanner = FieldScanner(bytes: bytes)
        guard let year = scanner.number(digits: 4), (1...9999).contains(year),
              scanner.skip(UInt8(ascii: "-")),
              let month = scanner.number(digits: 2), (1...12).contains(month),
              scanner.skip(UInt8(ascii: "-")),
              let day = scanner.number(digits: 2), (1...CivilDate.daysInMonth(month, year: year)).contains(day),
              scanner.skip(UInt8(ascii: "T")) || scanner.skip(UInt8(ascii: "t"))
                || (grammar == .postgres && scanner.skip(UInt8(ascii: " "))),
              let hour = scanner.number(digits: 2), (0...23).contains(hour),
              scanner.skip(UInt8(ascii: ":")),
              let minute = scanner.number(digits: 2), (0...59).contains(minute),
              scanner.skip(UInt8(ascii: ":")),
              let second = scanner.number(digits: 2), (0...59).contains(second)
        else { return nil }

        var fractionMicros: Int64 = 0
        if scanner.skip(UInt8(ascii: ".")) {
            var count = 0
            while let digit = scanner.digit() {
                count += 1
                guard count <= 9 else { return nil }
                if count <= 6 { fractionMicros = fractionMicros * 10 + digit }
            }
            guard count > 0 else { return nil }
            for _ in count..<max(count, 6) { fractionMicros *= 10 }
        }

        let offsetSeconds: Int64
        if scanner.skip(UInt8(ascii: "Z")) || scanner.skip(UInt8(ascii: "z")) {
            offsetSeconds = 0
        } else {
            let sign: Int64
            if scanner.skip(UInt8(ascii: "+")) {
                sign = 1
            } else if scanner.skip(UInt8(ascii: "-")) {
                sign = -1
            } else {
                return nil
            }
            guard let hours = scanner.number(digits: 2), (0...23).contains(hours) else { return nil }
            var minutes: Int64 = 0
            var seconds: Int64 = 0
            if scanner.skip(UInt8(ascii: ":")) {
                guard let value = scanner.number(digits: 2), (0...59).contains(value) else { return nil }
                minutes = value
                if grammar == .postgres, scanner.skip(UInt8(ascii: ":")) {
                    guard let value = scanner.number(digits: 2), (0...59).contains(value) else { return nil }
                    seconds = value
                }
            } else if grammar == .rfc3339 {
                return nil
            }
            offsetSeconds = sign * (hours * 3600 + minutes * 60 + seconds)
        }
        guard scanner.isAtEnd else { return nil }

        let days = CivilDate(year: year, month: month, day: day).daysSinceEpoch
        let utcSeconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        let micros = utcSeconds * 1_000_000 + fractionMicros
        guard (earliestParseable.microsecondsSinceEpoch...latestParseable.microsecondsSinceEpoch).contains(micros) else {
            return nil
        }
        return micros
    }
}

/// Reads fixed-width ASCII fields from a byte buffer.
private struct FieldScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    var isAtEnd: Bool { index == bytes.count }

    mutating func skip(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    mutating func digit() -> Int64? {
        guard index < bytes.count else { return nil }
        let value = bytes[index] &- UInt8(ascii: "0")
        guard value < 10 else { return nil }
        index += 1
        return Int64(value)
    }

    /// Exactly `digits` decimal digits.
    mutating func number(digits: Int) -> Int64? {
        var value: Int64 = 0
        for _ in 0..<digits {
            guard let digit = digit() else { return nil }
            value = value * 10 + digit
        }
        return value
    }
}
