import Testing
import OutboxdCore

@Suite struct JSONParseErrorTests {
    private func message(_ text: String) -> String? {
        do {
            _ = try JSONParser.parse(text)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func descriptionsArePrecise() {
        #expect(message(#"{"key" 1}"#) == "invalid JSON at byte 7: expected ':' after object key, found '1'")
        #expect(message("") == "invalid JSON at byte 0: empty input")
        #expect(message("  ") == "invalid JSON at byte 2: input contains only whitespace")
        #expect(message("[1,2") == "invalid JSON at byte 4: unexpected end of input; expected ',' or ']' after array element")
        #expect(message("[1,]") == "invalid JSON at byte 3: expected a value after ',' (trailing commas are not allowed)")
        #expect(message(#"{"a":1,}"#) == "invalid JSON at byte 7: expected an object key after ',' (trailing commas are not allowed)")
        #expect(message("01") == "invalid JSON at byte 1: invalid number: leading zeros are not allowed")
        #expect(message("1 2") == "invalid JSON at byte 2: unexpected data after the JSON value")
        #expect(message("\"a\nb\"") == "invalid JSON at byte 2: unescaped control character byte 0x0A in string")
        #expect(message(#""\q""#) == "invalid JSON at byte 1: invalid escape sequence '\\' followed by 'q'")
        #expect(message(#""\uDC00""#) == "invalid JSON at byte 1: unpaired low surrogate \\uDC00")
        #expect(message("[[[") == "invalid JSON at byte 3: unexpected end of input; expected a value")
        #expect(message(String(repeating: "1", count: 70)) == "invalid JSON at byte 0: number literal longer than 64 characters")
    }

    @Test func tooDeepNamesTheLimit() throws {
        do {
            _ = try JSONParser.parse("[[[]]]", maxDepth: 2)
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "invalid JSON at byte 2: nesting deeper than 2 levels")
        }
    }

    @Test func invalidUTF8NamesOnlyTheLeadByte() {
        do {
            _ = try JSONParser.parse([0x22, 0xC0, 0x80, 0x22] as [UInt8])
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "invalid JSON at byte 1: invalid UTF-8 sequence starting with byte 0xC0")
        }
    }

    @Test func duplicateKeyIsQuotedEscapedAndTruncated() {
        #expect(message(#"{"id":1,"id":2}"#) == #"invalid JSON at byte 8: duplicate object key "id""#)
        #expect(message(#"{"a\nb":1,"a\nb":2}"#) == #"invalid JSON at byte 10: duplicate object key "a\nb""#)
        let long = String(repeating: "k", count: 100)
        let expectedKey = String(repeating: "k", count: 64)
        #expect(message("{\"\(long)\":1,\"\(long)\":2}") == "invalid JSON at byte 106: duplicate object key \"\(expectedKey)\"…")
    }

    @Test func equalityIgnoresDetail() {
        let a = JSONParseError(offset: 3, reason: .invalidNumber, detail: "one")
        let b = JSONParseError(offset: 3, reason: .invalidNumber)
        #expect(a == b)
        #expect(a != JSONParseError(offset: 4, reason: .invalidNumber))
        #expect(a != JSONParseError(offset: 3, reason: .unexpectedByte))
        #expect(b.detail == "invalid number")
    }
}
