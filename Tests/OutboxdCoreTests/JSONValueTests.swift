import Testing
import OutboxdCore

@Suite struct JSONValueTests {
    @Test func accessorsMatchTheirCase() {
        let object: JSONObject = ["a": 1]
        #expect(JSONValue.string("x").stringValue == "x")
        #expect(JSONValue.bool(true).boolValue == true)
        #expect(JSONValue.object(object).objectValue == object)
        #expect(JSONValue.array([.null]).arrayValue == [.null])
        #expect(JSONValue.number("1.5").numberText == "1.5")
        #expect(JSONValue.null.isNull)

        #expect(JSONValue.number("1").stringValue == nil)
        #expect(JSONValue.string("true").boolValue == nil)
        #expect(JSONValue.array([]).objectValue == nil)
        #expect(JSONValue.object([:]).arrayValue == nil)
        #expect(JSONValue.string("null").isNull == false)
        #expect(JSONValue.string("1").numberText == nil)
    }

    @Test func objectSubscriptOnValue() {
        let value: JSONValue = ["id": "abc", "n": 3]
        #expect(value["id"] == .string("abc"))
        #expect(value["missing"] == nil)
        #expect(JSONValue.array([]).self["id"] == nil)
    }

    @Test func typeNames() {
        #expect(JSONValue.null.typeName == "null")
        #expect(JSONValue.bool(false).typeName == "boolean")
        #expect(JSONValue.number("0").typeName == "number")
        #expect(JSONValue.string("").typeName == "string")
        #expect(JSONValue.array([]).typeName == "array")
        #expect(JSONValue.object([:]).typeName == "object")
    }

    @Test func literalsBuildTheExpectedCases() {
        let value: JSONValue = ["s": "x", "b": true, "n": nil, "i": -7, "a": [1, "two"], "o": ["k": false]]
        let expected = JSONValue.object(JSONObject([
            "s": .string("x"), "b": .bool(true), "n": .null, "i": .number("-7"),
            "a": .array([.number("1"), .string("two")]), "o": .object(JSONObject(["k": .bool(false)])),
        ]))
        #expect(value == expected)
        #expect(value.objectValue?.keys == ["s", "b", "n", "i", "a", "o"])
        #expect(JSONValue.object(["id": .string("x"), "n": .number("3")]).objectValue?.keys == ["id", "n"])
    }

    @Test func intBuilder() {
        #expect(JSONValue.int(0) == .number("0"))
        #expect(JSONValue.int(-42) == .number("-42"))
        #expect(JSONValue.int(Int.min) == .number("-9223372036854775808"))
    }

    @Test func doubleBuilder() {
        #expect(JSONValue.double(0.1) == .number("0.1"))
        #expect(JSONValue.double(2) == .number("2.0"))
        #expect(JSONValue.double(1e300) == .number("1e+300"))
        #expect(JSONValue.double(.infinity) == nil)
        #expect(JSONValue.double(.nan) == nil)
        #expect(JSONValue.double(1e300)?.doubleValue == 1e300)
    }

    @Test(arguments: [
        ("0", 0), ("-0", 0), ("12", 12), ("-12", -12), ("1.0", 1), ("1.50e2", 150), ("100e-2", 1),
        ("0.0e5", 0), ("9223372036854775807", Int.max), ("-9223372036854775808", Int.min),
        ("92233720368547758.07e2", Int.max), ("1E3", 1000),
    ])
    func intValueOfIntegralNumbers(text: String, expected: Int) {
        #expect(JSONValue.number(text).intValue == expected)
    }

    @Test(arguments: ["0.5", "1e-1", "1.01", "9223372036854775808", "-9223372036854775809", "1e19", "1e400", "1e-400", "abc", "01", ""])
    func intValueIsNilWhenNotExact(text: String) {
        #expect(JSONValue.number(text).intValue == nil)
    }

    @Test(arguments: [
        ("0", 0.0), ("-0.5e3", -500.0), ("0.1", 0.1), ("0.10", 0.1), ("1e300", 1e300), ("5e-324", .leastNonzeroMagnitude),
        ("9007199254740992", 9007199254740992.0), ("123456.789", 123456.789), ("1E+2", 100),
    ])
    func doubleValueOfRepresentableNumbers(text: String, expected: Double) {
        #expect(JSONValue.number(text).doubleValue == expected)
    }

    @Test(arguments: ["9007199254740993", "0.1000000000000000000001", "1e400", "-1e400", "1e-400", "2e-324", "NaN", "1.", "x"])
    func doubleValueIsNilWhenInformationWouldBeLost(text: String) {
        #expect(JSONValue.number(text).doubleValue == nil)
    }

    @Test func numberHelpersIgnoreOtherCases() {
        #expect(JSONValue.string("1").intValue == nil)
        #expect(JSONValue.string("1").doubleValue == nil)
    }

    @Test func negativeZeroKeepsItsSign() throws {
        let value = try #require(JSONValue.number("-0").doubleValue)
        #expect(value == 0 && value.sign == .minus)
    }

    @Test func numberLiteralValidation() {
        for valid in ["0", "-0", "1.5", "-0.5e3", "1E+2", "1e-2", "123456789012345678901234567890"] {
            #expect(JSONValue.isValidNumberLiteral(valid), "\(valid)")
        }
        for invalid in ["", "-", "01", "+1", ".5", "1.", "1e", "1e+", "0x10", "1 ", " 1", "NaN", "Infinity", "1.5.3"] {
            #expect(!JSONValue.isValidNumberLiteral(invalid), "\(invalid)")
        }
    }
}
