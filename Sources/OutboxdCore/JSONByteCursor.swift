/// The parsing engine behind ``JSONParser``: a cursor over a contiguous byte
/// buffer with an explicit container stack instead of recursion.
struct JSONByteCursor {
    private let bytes: UnsafeBufferPointer<UInt8>
    private let maxDepth: Int
    private let duplicateKeys: JSONParser.DuplicateKeys
    private(set) var index = 0
    private var scratch: [UInt8] = []

    init(_ bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int, duplicateKeys: JSONParser.DuplicateKeys = .reject) {
        self.bytes = bytes
        self.maxDepth = maxDepth
        self.duplicateKeys = duplicateKeys
    }

    private struct Frame {
        var isObject: Bool
        /// Where this container's elements start in the shared value stack.
        var valueStart: Int
        /// Where this object's keys start in the shared key stack.
        var keyStart: Int
        /// Built once an object grows past `linearKeyLimit` members.
        var keySet: Set<String>?
        /// A key came twice (`DuplicateKeys.lastWins`): the members are merged when it closes.
        var hasDuplicates = false
    }

    private static let linearKeyLimit = 16

    // MARK: Document structure

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        guard index < bytes.count else {
            throw JSONParseError(offset: index, reason: .empty,
                                 detail: bytes.isEmpty ? "empty input" : "input contains only whitespace")
        }
        var frames: [Frame] = []
        var values: [JSONValue] = []
        var keys: [String] = []

        while true {
            var value: JSONValue
            guard index < bytes.count else { throw endError("expected a value") }
            switch bytes[index] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let isObject = bytes[index] == UInt8(ascii: "{")
                guard frames.count < maxDepth else {
                    throw JSONParseError(offset: index, reason: .tooDeep,
                                         detail: "nesting deeper than \(maxDepth) levels")
                }
                index += 1
                skipWhitespace()
                let close = isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
                if index < bytes.count, bytes[index] == close {
                    index += 1
                    value = isObject ? .object(JSONObject()) : .array([])
                    break
                }
                frames.append(Frame(isObject: isObject, valueStart: values.count, keyStart: keys.count))
                if isObject {
                    try parseKey(into: &frames[frames.count - 1], keys: &keys, afterComma: false)
                }
                continue
            case UInt8(ascii: "\""):
                value = .string(try parseString())
            case UInt8(ascii: "t"):
                try expectLiteral("true")
                value = .bool(true)
            case UInt8(ascii: "f"):
                try expectLiteral("false")
                value = .bool(false)
            case UInt8(ascii: "n"):
                try expectLiteral("null")
                value = .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                value = .number(try parseNumber())
            case UInt8(ascii: "+"), UInt8(ascii: "."):
                throw JSONParseError(offset: index, reason: .invalidNumber,
                                     detail: "a number must start with '-' or a digit")
            case UInt8(ascii: "]") where frames.last?.isObject == false:
                throw JSONParseError(offset: index, reason: .unexpectedByte,
                                     detail: "expected a value after ',' (trailing commas are not allowed)")
            default:
                throw try unexpected("expected a value")
            }

            // Attach the finished value to its container, closing containers
            // for as long as their closing bracket follows.
            while true {
                guard let top = frames.last else {
                    skipWhitespace()
                    guard index == bytes.count else {
                        if bytes[index] >= 0x80 { _ = try validUTF8SequenceLength(at: index) }
                        throw JSONParseError(offset: index, reason: .trailingData)
                    }
                    return value
                }
                values.append(value)
                skipWhitespace()
                let expectation = top.isObject ? "expected ',' or '}' after object member" : "expected ',' or ']' after array element"
                guard index < bytes.count else { throw endError(expectation) }
                let byte = bytes[index]
                if byte == UInt8(ascii: ",") {
                    index += 1
                    skipWhitespace()
                    if top.isObject {
                        try parseKey(into: &frames[frames.count - 1], keys: &keys, afterComma: true)
                    }
                    break
                }
                guard byte == (top.isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) else {
                    throw try unexpected(expectation)
                }
                index += 1
                if top.isObject {
                    var members: [JSONObject.Member] = []
                    members.reserveCapacity(values.count - top.valueStart)
                    var positions: [String: Int] = [:]
                    for offset in 0..<(values.count - top.valueStart) {
                        let key = keys[top.keyStart + offset], value = values[top.valueStart + offset]
                        if top.hasDuplicates {
                            if let position = positions[key] {
                                members[position] = JSONObject.Member(key: key, value: value)
                                continue
                            }
                            positions[key] = members.count
                        }
                        members.append(JSONObject.Member(key: key, value: value))
                    }
                    keys.removeSubrange(top.keyStart...)
                    value = .object(JSONObject(uniqueMembers: members))
                } else {
                    value = .array(Array(values[top.valueStart...]))
                }
                values.removeSubrange(top.valueStart...)
                frames.removeLast()
            }
        }
    }

    /// Parses `"key" :` and leaves the cursor at the member's value.
    private mutating func parseKey(into frame: inout Frame, keys: inout [String], afterComma: Bool) throws(JSONParseError) {
        guard index < bytes.count else { throw endError("expected a string object key") }
        guard bytes[index] == UInt8(ascii: "\"") else {
            if afterComma, bytes[index] == UInt8(ascii: "}") {
                throw JSONParseError(offset: index, reason: .unexpectedByte,
                                     detail: "expected an object key after ',' (trailing commas are not allowed)")
            }
            throw try unexpected("expected a string object key")
        }
        let keyOffset = index
        let key = try parseString()
        let isDuplicate: Bool
        if frame.keySet != nil {
            isDuplicate = !frame.keySet!.insert(key).inserted
        } else {
            isDuplicate = keys[frame.keyStart...].contains(key)
            if !isDuplicate, keys.count - frame.keyStart >= Self.linearKeyLimit {
                frame.keySet = Set(keys[frame.keyStart...])
                frame.keySet!.insert(key)
            }
        }
        if isDuplicate {
            guard duplicateKeys == .lastWins else {
                throw JSONParseError(offset: keyOffset, reason: .duplicateKey,
                                     detail: "duplicate object key \(Self.quotedForMessage(key))")
            }
            frame.hasDuplicates = true
        }
        keys.append(key)
        skipWhitespace()
        guard index < bytes.count else { throw endError("expected ':' after object key") }
        guard bytes[index] == UInt8(ascii: ":") else { throw try unexpected("expected ':' after object key") }
        index += 1
        skipWhitespace()
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                index += 1
            default:
                return
            }
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let expected = UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        for byte in expected {
            guard index < bytes.count else { throw endError("incomplete literal '\(literal)'") }
            guard bytes[index] == byte else { throw try unexpected("invalid literal, expected '\(literal)'") }
            index += 1
        }
    }

    // MARK: Numbers

    private mutating func parseNumber() throws(JSONParseError) -> String {
        let start = index
        try scanNumberSyntax()
        guard index - start <= JSONParser.maxNumberLength else {
            throw JSONParseError(offset: start, reason: .numberTooLong)
        }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
    }

    /// Advances over `-? int frac? exp?`, leaving the cursor after it.
    mutating func scanNumberSyntax() throws(JSONParseError) {
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else {
            throw numberError("expected a digit")
        }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) {
                throw numberError("leading zeros are not allowed")
            }
        } else {
            skipDigits()
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else {
                throw numberError("expected a digit after the decimal point")
            }
            skipDigits()
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard index < bytes.count, isDigit(bytes[index]) else {
                throw numberError("expected a digit in the exponent")
            }
            skipDigits()
        }
    }

    private mutating func skipDigits() {
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }

    private func numberError(_ detail: String) -> JSONParseError {
        JSONParseError(offset: index, reason: .invalidNumber, detail: "invalid number: " + detail)
    }

    // MARK: Strings

    /// Parses a string starting at its opening quote.
    private mutating func parseString() throws(JSONParseError) -> String {
        index += 1
        var segmentStart = index
        var hasEscapes = false
        while true {
            guard index < bytes.count else { throw endError("unterminated string") }
            let byte = bytes[index]
            if byte >= 0x20, byte < 0x80, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
                index += 1
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                let segment = UnsafeBufferPointer(rebasing: bytes[segmentStart..<index])
                index += 1
                guard hasEscapes else { return String(decoding: segment, as: UTF8.self) }
                scratch.append(contentsOf: segment)
                defer { scratch.removeAll(keepingCapacity: true) }
                return String(decoding: scratch, as: UTF8.self)
            case UInt8(ascii: "\\"):
                if !hasEscapes {
                    hasEscapes = true
                    scratch.removeAll(keepingCapacity: true)
                }
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[segmentStart..<index]))
                try appendEscape()
                segmentStart = index
            case 0x80...:
                index += try validUTF8SequenceLength(at: index)
            default:
                throw JSONParseError(offset: index, reason: .controlCharacter,
                                     detail: "unescaped control character \(Self.describe(byte)) in string")
            }
        }
    }

    /// Decodes the escape at the cursor (a backslash) into `scratch`.
    private mutating func appendEscape() throws(JSONParseError) {
        let start = index
        guard index + 1 < bytes.count else { throw endError("unterminated escape sequence") }
        let letter = bytes[index + 1]
        index += 2
        let simple: UInt8
        switch letter {
        case UInt8(ascii: "\""): simple = UInt8(ascii: "\"")
        case UInt8(ascii: "\\"): simple = UInt8(ascii: "\\")
        case UInt8(ascii: "/"): simple = UInt8(ascii: "/")
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "u"):
            let unit = try hexQuad(escapeStart: start)
            var scalarValue = UInt32(unit)
            switch unit {
            case 0xD800...0xDBFF:
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw JSONParseError(offset: start, reason: .invalidEscape,
                                         detail: "high surrogate \\u\(Self.hex(unit)) not followed by a \\u low surrogate")
                }
                let lowStart = index
                index += 2
                let low = try hexQuad(escapeStart: lowStart)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw JSONParseError(offset: start, reason: .invalidEscape,
                                         detail: "high surrogate \\u\(Self.hex(unit)) followed by \\u\(Self.hex(low)) instead of a low surrogate")
                }
                scalarValue = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            case 0xDC00...0xDFFF:
                throw JSONParseError(offset: start, reason: .invalidEscape,
                                     detail: "unpaired low surrogate \\u\(Self.hex(unit))")
            default:
                break
            }
            appendUTF8(scalarValue)
            return
        default:
            throw JSONParseError(offset: start, reason: .invalidEscape,
                                 detail: "invalid escape sequence '\\' followed by \(Self.describe(letter))")
        }
        scratch.append(simple)
    }

    private mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case ..<0x80:
            scratch.append(UInt8(scalar))
        case ..<0x800:
            scratch.append(0xC0 | UInt8(scalar >> 6))
            scratch.append(0x80 | UInt8(scalar & 0x3F))
        case ..<0x10000:
            scratch.append(0xE0 | UInt8(scalar >> 12))
            scratch.append(0x80 | UInt8(scalar >> 6 & 0x3F))
            scratch.append(0x80 | UInt8(scalar & 0x3F))
        default:
            scratch.append(0xF0 | UInt8(scalar >> 18))
            scratch.append(0x80 | UInt8(scalar >> 12 & 0x3F))
            scratch.append(0x80 | UInt8(scalar >> 6 & 0x3F))
            scratch.append(0x80 | UInt8(scalar & 0x3F))
        }
    }

    /// Reads the four hex digits after `\u`.
    private mutating func hexQuad(escapeStart: Int) throws(JSONParseError) -> UInt16 {
        var unit: UInt16 = 0
        for _ in 0..<4 {
            guard index < bytes.count else { throw endError("unterminated \\u escape") }
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default:
                throw JSONParseError(offset: escapeStart, reason: .invalidEscape,
                                     detail: "\\u must be followed by four hex digits")
            }
            unit = unit << 4 | UInt16(digit)
            index += 1
        }
        return unit
    }

    /// The length of the well-formed UTF-8 sequence starting at `offset`
    /// (Unicode Table 3-7: no overlongs, surrogates or values past U+10FFFF).
    private func validUTF8SequenceLength(at offset: Int) throws(JSONParseError) -> Int {
        let lead = bytes[offset]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default: throw utf8Error(at: offset)
        }
        guard offset + length <= bytes.count, secondRange.contains(bytes[offset + 1]) else {
            throw utf8Error(at: offset)
        }
        for i in (offset + 2)..<(offset + length) where bytes[i] & 0xC0 != 0x80 {
            throw utf8Error(at: offset)
        }
        return length
    }

    private func utf8Error(at offset: Int) -> JSONParseError {
        JSONParseError(offset: offset, reason: .invalidUTF8, detail: "invalid UTF-8 sequence starting with byte \(Self.hexByte(bytes[offset]))")
    }

    // MARK: Errors

    private func endError(_ detail: String) -> JSONParseError {
        JSONParseError(offset: bytes.count, reason: .unexpectedEnd, detail: "unexpected end of input; " + detail)
    }

    /// An unexpected-byte error at the cursor, or invalidUTF8 if the byte
    /// starts a malformed sequence.
    private func unexpected(_ detail: String) throws(JSONParseError) -> JSONParseError {
        let byte = bytes[index]
        if byte >= 0x80 { _ = try validUTF8SequenceLength(at: index) }
        return JSONParseError(offset: index, reason: .unexpectedByte, detail: "\(detail), found \(Self.describe(byte))")
    }

    private static func describe(_ byte: UInt8) -> String {
        if byte >= 0x21, byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte \(hexByte(byte))"
    }

    private static func hexByte(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        return "0x" + String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]], as: UTF8.self)
    }

    private static func hex(_ unit: UInt16) -> String {
        let text = String(unit, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - text.count) + text
    }

    /// A key quoted and escaped as JSON, truncated to 64 characters.
    private static func quotedForMessage(_ key: String) -> String {
        let limit = 64
        guard key.count > limit else { return JSONWriter.string(.string(key)) }
        return JSONWriter.string(.string(String(key.prefix(limit)))) + "…"
    }
}
