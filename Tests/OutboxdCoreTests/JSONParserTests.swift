import Testing
import OutboxdCore

@Suite struct JSONParserTests {
    private func parse(_ text: String, maxDepth: Int = 32) throws(JSONParseError) -> JSONValue {
        try JSONParser.parse(Array(text.utf8), maxDepth: maxDepth)
    }

    private func failure(_ bytes: [UInt8], maxDepth: Int = 32) -> JSONParseError? {
        do {
            _ = try JSONParser.parse(bytes, maxDepth: maxDepth)
            return nil
        } catch {
            return error
        }
    }

    private func failure(_ text: String, maxDepth: Int = 32) -> JSONParseError? {
        failure(Array(text.utf8), maxDepth: maxDepth)
    }

    // MARK: Valid documents

    @Test(arguments: [
        ("null", JSONValue.null), ("true", .bool(true)), ("false", .bool(false)),
        ("0", .number("0")), ("-0", .number("-0")), ("12", .number("12")), ("-0.5e3", .number("-0.5e3")),
        ("1E+2", .number("1E+2")), ("1e-2", .number("1e-2")), ("10.25", .number("10.25")),
        ("\"\"", .string("")), ("\"hi\"", .string("hi")), ("[]", .array([])), ("{}", .object([:])),
        (" \t\r\n[ 1 , \"a\" ]\n", .array([.number("1"), .string("a")])), ("[ ]", .array([])), ("{ }", .object([:])),
    ])
    func parsesScalarsAndSimpleContainers(text: String, expected: JSONValue) throws {
        #expect(try parse(text) == expected)
    }

    @Test func parsesNestedDocumentKeepingMemberOrder() throws {
        let text = #"{"id":"evt-1","n":3,"tags":["a",{"deep":[null,true,false]}],"meta":{"z":1.5,"a":-2e10},"e":{},"l":[]}"#
        let value = try parse(text)
        let expected: JSONValue = [
            "id": "evt-1", "n": 3,
            "tags": ["a", ["deep": [nil, true, false]]],
            "meta": ["z": .number("1.5"), "a": .number("-2e10")],
            "e": [:], "l": [],
        ]
        #expect(value == expected)
        #expect(value.objectValue?.keys == ["id", "n", "tags", "meta", "e", "l"])
        #expect(value["meta"]?.objectValue?.keys == ["z", "a"])
    }

    @Test func decodesEveryEscape() throws {
        let text = #""\"\\\/\b\f\n\r\t\u0041\u00e9\u20AC\uD83D\uDE00\u0000""#
        #expect(try parse(text) == .string("\"\\/\u{8}\u{C}\n\r\tAé€😀\u{0}"))
    }

    @Test func keepsRawUTF8AndMixesItWithEscapes() throws {
        #expect(try parse("\"héllo €😀\"") == .string("héllo €😀"))
        #expect(try parse("\"é\\n😀\\u00e9x\"") == .string("é\n😀éx"))
        #expect(try parse("[\"\u{10FFFF}\", \"\u{FFFD}\", \"\u{7F}\"]") == .array(["\u{10FFFF}", "\u{FFFD}", "\u{7F}"]))
    }

    @Test func keysAreDecodedBeforeDuplicateCheck() throws {
        #expect(failure(#"{"a":1,"\u0061":2}"#)?.reason == .duplicateKey)
        #expect(try parse(#"{"a":1,"A":2,"a ":3}"#).objectValue?.count == 3)
    }

    @Test func sameKeyInDifferentObjectsIsFine() throws {
        let value = try parse(#"{"a":{"a":1},"b":{"a":2},"c":[{"a":3},{"a":4}]}"#)
        #expect(value["c"]?.arrayValue?.count == 2)
    }

    @Test func acceptsSixtyFourCharacterNumbers() throws {
        let digits = String(repeating: "7", count: 64)
        #expect(try parse(digits) == .number(digits))
        let fraction = "-0." + String(repeating: "5", count: 61)
        #expect(try parse("[\(fraction)]") == .array([.number(fraction)]))
    }

    @Test func acceptsExactlyMaxDepth() throws {
        let text = String(repeating: "[", count: 32) + String(repeating: "]", count: 32)
        #expect(try parse(text) != .null)
        let objects = String(repeating: #"{"a":"#, count: 32) + "1" + String(repeating: "}", count: 32)
        #expect(try parse(objects) != .null)
        #expect(try parse("1", maxDepth: 0) == .number("1"))
    }

    @Test func acceptsEveryInputShape() throws {
        let text = #"{"k":[1,"v"]}"#
        let expected: JSONValue = ["k": [1, "v"]]
        #expect(try JSONParser.parse(text) == expected)
        #expect(try JSONParser.parse(Array(text.utf8)) == expected)
        #expect(try JSONParser.parse(Array(("  " + text).utf8).dropFirst(2)) == expected)
        #expect(try JSONParser.parse(text.utf8.lazy.map { $0 }) == expected)
        let bytes = Array(text.utf8)
        let fromRaw = bytes.withUnsafeBytes { raw in Result { () throws(JSONParseError) in try JSONParser.parse(raw) } }
        #expect(try fromRaw.get() == expected)
        let fromBuffer = bytes.withUnsafeBufferPointer { buffer in Result { () throws(JSONParseError) in try JSONParser.parse(buffer) } }
        #expect(try fromBuffer.get() == expected)
    }

    @Test func manyKeysUseTheSetPathAndStillDetectDuplicates() throws {
        let members = (0..<40).map { #""k\#($0)":\#($0)"# }
        let object = try parse("{" + members.joined(separator: ",") + "}")
        #expect(object.objectValue?.keys == (0..<40).map { "k\($0)" })
        #expect(object["k39"] == .number("39"))

        let text = "{" + members.joined(separator: ",") + #","k3":0}"#
        let error = try #require(failure(text))
        #expect(error.reason == .duplicateKey)
        #expect(error.offset == text.utf8.count - 7)
    }

    /// `.lastWins` (Jackson's reading): a key's last value at its first place, in every object,
    /// also past the linear key check; the default still refuses.
    @Test func duplicateKeysCanKeepTheLastValueAtTheFirstPlace() throws {
        let members = (0..<40).map { #""k\#($0)":\#($0)"# }
        let text = #"{"a":1,"b":{"x":1,"x":[2]},"a":3,"#  + members.joined(separator: ",") + #","k3":"last","a":4}"#
        let value = try JSONParser.parse(Array(text.utf8), duplicateKeys: .lastWins)
        #expect(value.objectValue?.keys == ["a", "b"] + (0..<40).map { "k\($0)" })
        #expect(value["a"] == .number("4"))
        #expect(value["k3"] == .string("last"))
        #expect(value["b"]?["x"] == .array([.number("2")]))
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Array(text.utf8), duplicateKeys: .reject) }
        #expect(failure(text)?.reason == .duplicateKey)
    }

    @Test func largeArray() throws {
        let text = "[" + (0..<10_000).map(String.init).joined(separator: ",") + "]"
        let array = try #require(try parse(text).arrayValue)
        #expect(array.count == 10_000)
        #expect(array[9_999] == .number("9999"))
    }

    // MARK: Errors

    @Test(arguments: [
        ("", JSONParseError.Reason.empty, 0),
        (" \r\n\t", .empty, 4),
        ("[1,2", .unexpectedEnd, 4),
        ("{\"a\"", .unexpectedEnd, 4),
        ("{\"a\":", .unexpectedEnd, 5),
        ("\"abc", .unexpectedEnd, 4),
        ("\"ab\\", .unexpectedEnd, 4),
        ("\"\\u12", .unexpectedEnd, 5),
        ("tru", .unexpectedEnd, 3),
        ("[", .unexpectedEnd, 1),
        ("{", .unexpectedEnd, 1),
        ("[1 2]", .unexpectedByte, 3),
        ("{\"a\" 1}", .unexpectedByte, 5),
        ("{\"a\":1 \"b\":2}", .unexpectedByte, 7),
        ("[1,]", .unexpectedByte, 3),
        ("{\"a\":1,}", .unexpectedByte, 7),
        ("{\"a\":}", .unexpectedByte, 5),
        ("{1:2}", .unexpectedByte, 1),
        ("{'a':1}", .unexpectedByte, 1),
        ("'a'", .unexpectedByte, 0),
        ("trve", .unexpectedByte, 2),
        ("nul1", .unexpectedByte, 3),
        ("NaN", .unexpectedByte, 0),
        ("Infinity", .unexpectedByte, 0),
        ("[,1]", .unexpectedByte, 1),
        ("]", .unexpectedByte, 0),
        ("// c\n1", .unexpectedByte, 0),
        ("\u{FEFF}1", .unexpectedByte, 0),
        ("[1]/*x*/", .trailingData, 3),
        ("1 2", .trailingData, 2),
        ("{}}", .trailingData, 2),
        ("truex", .trailingData, 4),
        ("1x", .trailingData, 1),
        ("\"\\x\"", .invalidEscape, 1),
        ("\"\\U0041\"", .invalidEscape, 1),
        ("\"ab\\u12G4\"", .invalidEscape, 3),
        ("\"\\uD800\"", .invalidEscape, 1),
        ("\"\\uD800x\"", .invalidEscape, 1),
        ("\"\\uD800\\u0041\"", .invalidEscape, 1),
        ("\"\\uD800\\uD800\"", .invalidEscape, 1),
        ("\"\\uDC00\"", .invalidEscape, 1),
        ("\"ab\\uDFFF\\uD800\"", .invalidEscape, 3),
        ("\"\\uD83D\\n\"", .invalidEscape, 1),
        ("01", .invalidNumber, 1),
        ("-01", .invalidNumber, 2),
        ("[00]", .invalidNumber, 2),
        ("+1", .invalidNumber, 0),
        (".5", .invalidNumber, 0),
        ("1.", .invalidNumber, 2),
        ("1.e5", .invalidNumber, 2),
        ("1e", .invalidNumber, 2),
        ("[1e+]", .invalidNumber, 4),
        ("-", .invalidNumber, 1),
        ("-Infinity", .invalidNumber, 1),
        ("\"a\u{1}b\"", .controlCharacter, 2),
        ("\"a\nb\"", .controlCharacter, 2),
        ("\"\t\"", .controlCharacter, 1),
        ("\"\u{0}\"", .controlCharacter, 1),
        ("{\"a\u{1F}\":1}", .controlCharacter, 3),
        ("{\"a\":1,\"a\":2}", .duplicateKey, 7),
        ("[{\"x\":[],\"y\":0,\"x\":1}]", .duplicateKey, 15),
    ])
    func reportsReasonAndOffset(text: String, reason: JSONParseError.Reason, offset: Int) throws {
        let error = try #require(failure(text))
        #expect(error.reason == reason)
        #expect(error.offset == offset)
    }

    @Test func numberTooLong() throws {
        let digits = String(repeating: "1", count: 65)
        #expect(failure(digits) == JSONParseError(offset: 0, reason: .numberTooLong))
        #expect(failure("[0," + digits + "]") == JSONParseError(offset: 3, reason: .numberTooLong))
        let fraction = "0." + String(repeating: "0", count: 62) + "1"
        #expect(failure(fraction) == JSONParseError(offset: 0, reason: .numberTooLong))
        #expect(failure("-" + String(repeating: "9", count: 64))?.reason == .numberTooLong)
    }

    @Test func nestingBeyondMaxDepth() {
        let text = String(repeating: "[", count: 33) + String(repeating: "]", count: 33)
        #expect(failure(text) == JSONParseError(offset: 32, reason: .tooDeep))
        let objects = String(repeating: #"{"a":"#, count: 33) + "1" + String(repeating: "}", count: 33)
        #expect(failure(objects) == JSONParseError(offset: 160, reason: .tooDeep))
        #expect(failure("[]", maxDepth: 0) == JSONParseError(offset: 0, reason: .tooDeep))
        #expect(failure("[[1]]", maxDepth: 1) == JSONParseError(offset: 1, reason: .tooDeep))
    }

    @Test func millionOpenBracketsThrowTooDeep() {
        let bytes = [UInt8](repeating: UInt8(ascii: "["), count: 1_000_000)
        #expect(failure(bytes) == JSONParseError(offset: 32, reason: .tooDeep))
    }

    @Test func millionDeepNestingWithUnlimitedDepthDoesNotRecurse() {
        let bytes = [UInt8](repeating: UInt8(ascii: "["), count: 1_000_000)
        #expect(failure(bytes, maxDepth: .max) == JSONParseError(offset: 1_000_000, reason: .unexpectedEnd))
    }

    @Test(arguments: [
        ([0x22, 0xC0, 0x80, 0x22], 1),             // overlong NUL
        ([0x22, 0xC1, 0xBF, 0x22], 1),             // overlong 2-byte
        ([0x22, 0xE0, 0x80, 0xAF, 0x22], 1),       // overlong 3-byte "/"
        ([0x22, 0xF0, 0x80, 0x80, 0xAF, 0x22], 1), // overlong 4-byte
        ([0x22, 0xED, 0xA0, 0x80, 0x22], 1),       // UTF-8 encoded surrogate U+D800
        ([0x22, 0xED, 0xBF, 0xBF, 0x22], 1),       // UTF-8 encoded surrogate U+DFFF
        ([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], 1), // above U+10FFFF
        ([0x22, 0xF5, 0x80, 0x80, 0x80, 0x22], 1), // lead byte > 0xF4
        ([0x22, 0xFF, 0x22], 1),
        ([0x22, 0x61, 0x80, 0x22], 2),             // lone continuation byte
        ([0x22, 0xE2, 0x82, 0x22], 1),             // truncated before the quote
        ([0x22, 0xE2, 0x82], 1),                   // truncated at end of input
        ([0x22, 0xC3], 1),
        ([0x22, 0xF0, 0x9F, 0x98, 0x41, 0x22], 1), // bad fourth byte
        ([0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D], 2), // in a key
        ([0xFF], 0),                               // outside strings
        ([0x5B, 0x31, 0x2C, 0xC3, 0x28, 0x5D], 3),
        ([0x31, 0x20, 0xE2, 0x82], 2),
    ] as [([UInt8], Int)])
    func invalidUTF8(bytes: [UInt8], offset: Int) {
        #expect(failure(bytes) == JSONParseError(offset: offset, reason: .invalidUTF8))
    }

    @Test func validNonASCIIOutsideStringsIsAnUnexpectedByte() {
        #expect(failure("[é]") == JSONParseError(offset: 1, reason: .unexpectedByte))
    }
}
