import OutboxdCore
import OutboxdTasks
import OutboxdTestSupport

/// Random `POST`/`PATCH /tasks` bodies for the fuzz targets: objects built field by field, whose
/// validation result is known when every field is valid, and byte-level mutations of them
/// (flips, truncation, splices, deep nesting, invalid UTF-8, NULs, huge numbers).
struct TaskBodyGenerator {
    /// A body and, when it is valid by construction, what validation must make of it.
    struct Body {
        var bytes: [UInt8]
        /// The result `TaskValidation.newTask` must return.
        var task: NewTask?
        /// The result `TaskValidation.patch` must return.
        var patch: TaskPatch?
        /// The body is well-formed JSON by construction.
        var isJSON: Bool
    }

    static func body(_ random: inout SplitMix64) -> Body {
        var body = random.chance(6) ? nonObject(&random) : object(&random)
        if random.chance(50) {
            for _ in 0..<random.int(1...4) { mutate(&body.bytes, &random) }
            body = Body(bytes: body.bytes, task: nil, patch: nil, isJSON: false)
        }
        return body
    }

    // MARK: Objects, field by field

    private static func object(_ random: inout SplitMix64) -> Body {
        var members: [(key: String, value: [UInt8])] = []
        var valid = true
        var title: String?
        var patch = TaskPatch()
        if random.chance(85) {
            let (text, value) = self.title(&random)
            members.append(("title", text))
            title = value
            patch.title = value
            valid = valid && value != nil
        }
        if random.chance(45) {
            let (text, value) = description(&random)
            members.append(("description", text))
            patch.description = value
            valid = valid && value != nil
        }
        if random.chance(40) {
            let (text, value) = status(&random)
            members.append(("status", text))
            patch.status = value
            valid = valid && value != nil
        }
        if random.chance(40) {
            let (text, value) = dueAt(&random)
            members.append(("due_at", text))
            patch.dueAt = value
            valid = valid && value != nil
        }
        if random.chance(8) {
            members.append((random.pick(unknownKeys), JSONWriter.bytes(randomValue(&random, depth: 2))))
            valid = false
        }
        members.shuffle(using: &random)
        var isJSON = true
        if !members.isEmpty, random.chance(4) {
            members.append(random.pick(members))
            isJSON = false
            valid = false
        }
        var bytes: [UInt8] = [UInt8(ascii: "{")] + space(&random)
        for (index, member) in members.enumerated() {
            if index > 0 { bytes += space(&random) + [UInt8(ascii: ",")] + space(&random) }
            bytes += string(member.key, &random) + space(&random) + [UInt8(ascii: ":")] + space(&random) + member.value
        }
        bytes += space(&random) + [UInt8(ascii: "}")]
        let task = valid ? title.map {
            NewTask(title: $0, description: patch.description ?? nil, status: patch.status ?? .todo, dueAt: patch.dueAt ?? nil)
        } : nil
        return Body(bytes: bytes, task: task, patch: valid && !members.isEmpty ? patch : nil, isJSON: isJSON)
    }

    private static let unknownKeys = ["owner", "Title", "title ", "ti\u{0}tle", "", "a/b~c", "😀", String(repeating: "k", count: 1000)]

    /// A title's JSON text and the title it is, or nil when invalid.
    private static func title(_ random: inout SplitMix64) -> ([UInt8], String?) {
        switch random.int(0...9) {
        case 0: return invalidValue(&random)
        case 1: return (string(random.pick(["", " ", " \t\n", "\u{3000}", "a\u{0}b"]), &random), nil)
        case 2: return (longString(&random, count: 201).1, nil)
        case 3:
            let (title, literal) = longString(&random, count: 200)
            return (literal, title)
        default:
            let title = text(&random, count: random.int(1...24))
            return (string(title, &random), title)
        }
    }

    private static func description(_ random: inout SplitMix64) -> ([UInt8], String??) {
        switch random.int(0...19) {
        case 0: return invalidValue(&random)
        case 1: return (string("x\u{0}", &random), nil)
        case 2: return (longString(&random, count: 10_001).1, nil)
        case 3:
            let (description, literal) = longString(&random, count: 10_000)
            return (literal, .some(description))
        case 4...7: return (Array("null".utf8), .some(nil))
        default:
            let description = random.chance(10) ? "" : text(&random, count: random.int(1...60))
            return (string(description, &random), .some(description))
        }
    }

    private static func status(_ random: inout SplitMix64) -> ([UInt8], TaskStatus?) {
        if random.chance(20) {
            return random.chance(50) ? invalidValue(&random) : (string(random.pick(["Todo", "", "done ", "doing", "in-progress"]), &random), nil)
        }
        let status = random.pick(TaskStatus.allCases)
        return (string(status.rawValue, &random), status)
    }

    private static func dueAt(_ random: inout SplitMix64) -> ([UInt8], Timestamp??) {
        switch random.int(0...9) {
        case 0: return invalidValue(&random)
        case 1: return (string(random.pick(invalidTimestamps), &random), nil)
        case 2: return (Array("null".utf8), .some(nil))
        default:
            let (text, timestamp) = RFC3339Sample.random(&random)
            return (string(text, &random), timestamp.map { .some($0) })
        }
    }

    private static let invalidTimestamps = [
        "2026-02-30T10:00:00Z", "2026-13-01T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T23:59:60Z",
        "2026-01-01T10:00:00", "2026-01-01 10:00:00Z", "2026-01-01T10:00:00+24:00", "2026-01-01T10:00:00+0100",
        "2026-01-01T10:00:00.Z", "2026-01-01T10:00:00.1234567890Z", "0000-01-01T00:00:00Z", "10000-01-01T00:00:00Z",
        "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01", "tomorrow", "", "2026-1-1T1:0:0Z", "２０２６-01-01T00:00:00Z",
    ]

    /// JSON text of a value of a wrong type (or an unusual number) for any field.
    private static func invalidValue<T>(_ random: inout SplitMix64) -> ([UInt8], T?) {
        var value = randomValue(&random, depth: 3)
        while value.stringValue != nil || value.isNull { value = randomValue(&random, depth: 3) }
        return (JSONWriter.bytes(value), nil)
    }

    // MARK: JSON pieces

    static let numbers = ["0", "-0", "1", "-1", "1.5", "1e309", "-1e-400", "1E+2", "0.1e-5", "9007199254740993",
                          "123456789012345678901234567890", String(repeating: "9", count: 64), "-0.0"]

    static func randomValue(_ random: inout SplitMix64, depth: Int) -> JSONValue {
        switch random.int(0...(depth > 0 ? 7 : 4)) {
        case 0: return .null
        case 1: return .bool(random.chance(50))
        case 2: return .number(random.pick(numbers))
        case 3, 4: return .string(text(&random, count: random.int(0...12)))
        case 5, 6: return .array((0..<random.int(0...4)).map { _ in randomValue(&random, depth: depth - 1) })
        default:
            var object = JSONObject()
            for _ in 0..<random.int(0...3) { object[text(&random, count: random.int(0...6))] = randomValue(&random, depth: depth - 1) }
            return .object(object)
        }
    }

    private static let scalars: [Unicode.Scalar] = [
        "a", "b", "Z", "0", "9", " ", "-", "_", ".", "\"", "\\", "/", "é", "ü", "ß", "✓", "漢", "😀", "\u{301}", "\u{200D}",
        "\u{FFFD}", "\u{FEFF}", "\u{10FFFF}", "\u{2028}", "\u{7}", "\u{1F}", "\n", "\t", "\u{7F}", "\u{E000}",
    ]

    /// `count` scalars, starting with a letter so that it is never blank.
    static func text(_ random: inout SplitMix64, count: Int) -> String {
        guard count > 0 else { return "" }
        var scalars = String.UnicodeScalarView()
        scalars.append(random.pick(["a", "B", "é", "漢"] as [Unicode.Scalar]))
        for _ in 1..<count { scalars.append(random.pick(Self.scalars)) }
        return String(scalars)
    }

    /// A text of `count` scalars and its JSON literal, from a repeated chunk (fast for long texts).
    private static func longString(_ random: inout SplitMix64, count: Int) -> (String, [UInt8]) {
        let chunk = text(&random, count: 50)
        let rest = text(&random, count: count % 50)
        let chunkLiteral = string(chunk, &random).dropFirst().dropLast()
        let restLiteral = string(rest, &random).dropFirst().dropLast()
        var literal: [UInt8] = [UInt8(ascii: "\"")]
        for _ in 0..<(count / 50) { literal.append(contentsOf: chunkLiteral) }
        literal += restLiteral + [UInt8(ascii: "\"")]
        return (String(repeating: chunk, count: count / 50) + rest, literal)
    }

    /// A JSON string literal of `text`, each scalar written raw or escaped at random.
    static func string(_ text: String, _ random: inout SplitMix64) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        let escapeAll = random.chance(10)
        for scalar in text.unicodeScalars {
            let short: String? = switch scalar {
            case "\"": "\\\""
            case "\\": "\\\\"
            case "\n": "\\n"
            case "\t": "\\t"
            case "\r": "\\r"
            case "/" where random.chance(50): "\\/"
            default: nil
            }
            if let short {
                out.append(contentsOf: short.utf8)
            } else if scalar.value < 0x20 || escapeAll || random.chance(5) {
                out += unicodeEscape(scalar, uppercase: random.chance(50))
            } else {
                out.append(contentsOf: scalar.utf8)
            }
        }
        return out + [UInt8(ascii: "\"")]
    }

    private static func unicodeEscape(_ scalar: Unicode.Scalar, uppercase: Bool) -> [UInt8] {
        func quad(_ unit: UInt32) -> [UInt8] {
            let hex = String(unit, radix: 16, uppercase: uppercase)
            return Array(("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8)
        }
        guard scalar.value > 0xFFFF else { return quad(scalar.value) }
        let value = scalar.value - 0x10000
        return quad(0xD800 + (value >> 10)) + quad(0xDC00 + (value & 0x3FF))
    }

    private static func space(_ random: inout SplitMix64) -> [UInt8] {
        guard random.chance(25) else { return [] }
        return (0..<random.int(1...3)).map { _ in random.pick([0x20, 0x09, 0x0A, 0x0D] as [UInt8]) }
    }

    // MARK: Non-objects and byte mutations

    private static let fragments: [[UInt8]] = [
        Array(#"{"title":"x"}"#.utf8), Array(#"{"title":"\ud800"}"#.utf8), Array(#"{"title":"\udc00\ud800"}"#.utf8),
        Array(#"{"title":"x"} trailing"#.utf8), Array(#"{"title":"x"}{"title":"y"}"#.utf8), Array("null".utf8),
        Array("[]".utf8), Array(#""title""#.utf8), Array("-0".utf8), Array("1e309".utf8), [0xEF, 0xBB, 0xBF] + Array(#"{"title":"x"}"#.utf8),
        Array(#"{"title":"x",}"#.utf8), Array("{'title':'x'}".utf8), Array(#"{"title":"x" /* c */}"#.utf8), [],
    ]

    private static func nonObject(_ random: inout SplitMix64) -> Body {
        if random.chance(50) { return Body(bytes: random.pick(fragments), task: nil, patch: nil, isJSON: false) }
        let value = randomValue(&random, depth: 3)
        return Body(bytes: JSONWriter.bytes(value), task: nil, patch: nil, isJSON: value.objectValue == nil)
    }

    private static let tokens: [[UInt8]] = [
        Array(#"\ud800"#.utf8), Array(#"\udfff"#.utf8), Array(#"\u0000"#.utf8), Array(#"\u12"#.utf8), Array(#"\x"#.utf8),
        Array("-0".utf8), Array("1e309".utf8), Array("1e-400".utf8), Array("00".utf8), Array(String(repeating: "7", count: 70).utf8),
        Array("true".utf8), Array("null".utf8), Array("NaN".utf8), Array(",".utf8), Array(":".utf8), Array("\"".utf8),
        [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xF0, 0x80, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
        [0xEF, 0xBB, 0xBF], [0xF0, 0x9F, 0x98, 0x80], [0xC3], [0x80], [0xFF], [0x00], [0x01], [0x7F],
    ]

    private static let interestingBytes: [UInt8] = [0x00, 0x01, 0x1F, 0x20, 0x22, 0x2C, 0x2D, 0x30, 0x3A, 0x5B, 0x5C, 0x5D,
                                                    0x65, 0x7B, 0x7D, 0x7F, 0x80, 0xBF, 0xC0, 0xC1, 0xED, 0xF5, 0xFF]

    /// One random byte-level change.
    static func mutate(_ bytes: inout [UInt8], _ random: inout SplitMix64) {
        let position = random.int(0...bytes.count)
        switch random.int(0...9) {
        case 0 where !bytes.isEmpty:
            bytes[min(position, bytes.count - 1)] ^= UInt8(1) << random.int(0...7)
        case 1 where !bytes.isEmpty:
            bytes[min(position, bytes.count - 1)] = random.pick(interestingBytes)
        case 2:
            bytes.insert(contentsOf: random.pick(tokens), at: position)
        case 3:
            bytes.removeSubrange(position...)
        case 4:
            let end = min(bytes.count, position + random.int(1...16))
            bytes.removeSubrange(position..<end)
        case 5 where !bytes.isEmpty:
            let start = random.int(0...(bytes.count - 1))
            let piece = bytes[start..<min(bytes.count, start + random.int(1...32))]
            bytes.insert(contentsOf: piece, at: position)
        case 6:
            let other = random.pick(fragments)
            guard !other.isEmpty else { return }
            let start = random.int(0...(other.count - 1))
            bytes.insert(contentsOf: other[start..<min(other.count, start + random.int(1...12))], at: position)
        case 7:
            let depth = random.int(1...64)
            let open: [UInt8] = random.chance(50) ? [UInt8(ascii: "[")] : Array(#"{"a":"#.utf8)
            var nested: [UInt8] = []
            for _ in 0..<depth { nested += open }
            if random.chance(50) {
                nested += [UInt8(ascii: "1")] + (0..<depth).map { _ in open == [UInt8(ascii: "[")] ? UInt8(ascii: "]") : UInt8(ascii: "}") }
            }
            bytes.insert(contentsOf: nested, at: position)
        case 8:
            bytes.insert(contentsOf: random.bytes(random.int(1...8)), at: position)
        default:
            bytes.insert(contentsOf: [UInt8](repeating: random.pick(interestingBytes), count: random.int(1...300)), at: position)
        }
    }
}
