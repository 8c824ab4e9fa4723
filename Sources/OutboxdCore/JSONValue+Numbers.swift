extension JSONValue {
    /// A number holding the decimal text of `value`.
    public static func int(_ value: Int) -> JSONValue {
        .number(String(value))
    }

    /// A number holding the shortest text that round-trips `value`, or nil
    /// for infinities and NaN, which JSON cannot represent.
    public static func double(_ value: Double) -> JSONValue? {
        guard value.isFinite else { return nil }
        return .number(value.description)
    }

    /// Whether `text` matches the RFC 8259 number grammar (any length).
    public static func isValidNumberLiteral(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            var cursor = JSONByteCursor(bytes, maxDepth: 0)
            guard (try? cursor.scanNumberSyntax()) != nil else { return false }
            return cursor.index == bytes.count
        }
    }

    /// The number as an `Int`, or nil unless this is a number whose value is
    /// an integer within `Int`'s range ("3", "-0", "1.50e2" all qualify).
    public var intValue: Int? {
        guard case .number(let text) = self, let decimal = DecimalForm(text) else { return nil }
        return decimal.exactInt
    }

    /// The number as a `Double`, or nil when converting would lose
    /// information: the result is non-finite, or the shortest decimal that
    /// round-trips the `Double` has a different value than the literal
    /// (so "0.1" converts, "9007199254740993" and "1e-400" do not).
    public var doubleValue: Double? {
        guard case .number(let text) = self,
              let literal = DecimalForm(text),
              let double = Double(text), double.isFinite,
              let shortest = DecimalForm(double.description),
              shortest == literal
        else { return nil }
        return double
    }
}

/// A decimal number in normal form: `digits × 10^exponent`, with no leading
/// or trailing zeros in `digits` (which is empty for zero).
private struct DecimalForm: Equatable {
    var isNegative: Bool
    var digits: [UInt8]
    var exponent: Int

    /// Reads a valid JSON number literal; nil for anything else.
    init?(_ text: String) {
        guard JSONValue.isValidNumberLiteral(text) else { return nil }
        var bytes = Array(text.utf8)[...]
        isNegative = bytes.first == UInt8(ascii: "-")
        if isNegative { bytes.removeFirst() }
        var mantissa: [UInt8] = []
        var fractionDigits = 0
        var inFraction = false
        while let byte = bytes.popFirst() {
            if byte == UInt8(ascii: ".") {
                inFraction = true
            } else if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                break
            } else {
                mantissa.append(byte &- UInt8(ascii: "0"))
                if inFraction { fractionDigits += 1 }
            }
        }
        let exponentIsNegative = bytes.first == UInt8(ascii: "-")
        var explicitExponent = 0
        for byte in bytes where byte != UInt8(ascii: "-") && byte != UInt8(ascii: "+") {
            // Saturate: beyond a billion the value is zero or enormous anyway.
            explicitExponent = min(explicitExponent * 10 + Int(byte &- UInt8(ascii: "0")), 1_000_000_000)
        }
        if exponentIsNegative { explicitExponent = -explicitExponent }

        guard let first = mantissa.firstIndex(where: { $0 != 0 }),
              let last = mantissa.lastIndex(where: { $0 != 0 })
        else {
            digits = []
            exponent = 0
            return
        }
        digits = Array(mantissa[first...last])
        exponent = explicitExponent + (mantissa.count - 1 - last) - fractionDigits
    }

    var exactInt: Int? {
        if digits.isEmpty { return 0 }
        guard exponent >= 0, digits.count + exponent <= 19 else { return nil }
        var value = 0
        for digit in digits + repeatElement(0, count: exponent) {
            let (shifted, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = isNegative
                ? shifted.subtractingReportingOverflow(Int(digit))
                : shifted.addingReportingOverflow(Int(digit))
            guard !o1, !o2 else { return nil }
            value = next
        }
        return value
    }
}
