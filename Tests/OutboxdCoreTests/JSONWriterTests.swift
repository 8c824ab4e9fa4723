import Testing
import OutboxdCore

@Suite struct JSONWriterTests {
    @Test func writesScalars() {
        #expect(JSONWriter.string(.null) == "null")
        #expect(JSONWriter.string(true) == "true")
        #expect(JSONWriter.string(false) == "false")
        #expect(JSONWriter.string(.number("-0.5e3")) == "-0.5e3")
        #expect(JSONWriter.string(.int(42)) == "42")
        #expect(JSONWriter.string("") == "\"\"")
    }

    @Test func writesCompactContainersInStoredOrder() {
        let value: JSONValue = ["b": 1, "a": [true, nil, "x"], "e": [:], "l": []]
        #expect(JSONWriter.string(value) == #"{"b":1,"a":[true,null,"x"],"e":{},"l":[]}"#)
    }

    @Test func escapesQuotesBackslashesAndNamedControls() {
        #expect(JSONWriter.string("a\"b\\c") == #""a\"b\\c""#)
        #expect(JSONWriter.string("\n\r\t\u{8}\u{C}") == #""\n\r\t\b\f""#)
    }

    @Test func escapesOtherControlsAsUnicodeEscapes() {
        let all = String(decoding: (0..<0x20).map { UInt8($0) }, as: UTF8.self)
        let expected = #""\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f"#
            + #"\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f""#
        #expect(JSONWriter.string(.string(all)) == expected)
    }

    @Test func escapesLineAndParagraphSeparators() {
        #expect(JSONWriter.string("a\u{2028}b\u{2029}c") == #""a\u2028b\u2029c""#)
        #expect(JSONWriter.string("\u{2027}\u{202A}") == "\"\u{2027}\u{202A}\"")
    }

    @Test func leavesSlashDeleteAndNonASCIIRaw() {
        #expect(JSONWriter.string("a/b\u{7F}é€😀") == "\"a/b\u{7F}é€😀\"")
        #expect(JSONWriter.bytes("é") == [0x22, 0xC3, 0xA9, 0x22])
    }

    @Test func escapesKeys() {
        #expect(JSONWriter.string(["a\"\n": 1]) == #"{"a\"\n":1}"#)
    }

    @Test func writeAppendsToExistingBuffer() {
        var bytes = Array("prefix:".utf8)
        JSONWriter.write([1, 2], into: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == "prefix:[1,2]")
        #expect(JSONWriter.bytes(["k": "v"]) == Array(#"{"k":"v"}"#.utf8))
    }

    static let roundTripValues: [JSONValue] = [
        .null, true, false, 0, .number("-0.5e3"), .number("1E+20"), "", "plain",
        "unicode: héllo €😀 \u{10FFFF} \u{FFFD} 日本語",
        "controls: \u{0}\u{1}\u{1F}\n\r\t\u{8}\u{C}\u{7F} \u{2028}\u{2029} \"quoted\" \\ /",
        [], [:], [[[[]]]],
        ["id": "evt-1", "n": 3, "nested": ["a": [1, "2", nil, ["deep": true]], "e\u{1}": "\u{2028}"]],
        [["k": "v"], ["k": "w"], .number("1.5"), nil, "\u{0}"],
        ["": "", " ": " ", "😀": "😀", "\u{0}": "\u{0}"],
    ]

    @Test(arguments: roundTripValues)
    func parseOfWriteIsIdentity(value: JSONValue) throws {
        let bytes = JSONWriter.bytes(value)
        #expect(try JSONParser.parse(bytes) == value)
        #expect(JSONWriter.bytes(try JSONParser.parse(bytes)) == bytes)
    }

    @Test func roundTripsEveryBMPAndAstralSample() throws {
        var generator = SplitMix64(seed: 7)
        for _ in 0..<200 {
            var text = ""
            for _ in 0..<20 {
                let raw = UInt32.random(in: 0...0x10FFFF, using: &generator)
                if let scalar = Unicode.Scalar(raw) { text.unicodeScalars.append(scalar) }
            }
            let value: JSONValue = [text: [.string(text)]]
            #expect(try JSONParser.parse(JSONWriter.bytes(value)) == value)
        }
    }
}
