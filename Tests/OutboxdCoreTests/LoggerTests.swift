import OutboxdCore
import Testing

@Suite struct LoggerTests {
    static let time = Timestamp(rfc3339: "2026-11-24T06:12:31.782010Z")!

    func line(_ message: String, _ fields: [(key: String, value: String)], format: Logger.Format = .text) -> String {
        Logger.format(level: .warning, label: "relay", message: message, fields: fields, format: format, time: Self.time)
    }

    /// CR, LF, a CRLF (one `Character`), other C0/C1 controls and U+2028 in values, messages and
    /// keys never reach the output raw: one line, every field readable back.
    @Test func controlCharactersInValuesAndKeysAreEscaped() {
        let text = line("bad\r\nmessage", [
            (key: "topic", value: "bad\r\n2026-11-24T06:12:31Z error relay: forged"),
            (key: "error", value: "cr\ronly lf\nonly tab\tesc\u{1B}[31m nul\u{0} del\u{7F} c1\u{85} ls\u{2028}"),
            (key: "bad key=\n", value: "v"),
            (key: "plain", value: "a\\b"),
        ])
        #expect(text == #"2026-11-24T06:12:31.782010Z warning relay: bad\r\nmessage"#
            + #" topic="bad\r\n2026-11-24T06:12:31Z error relay: forged""#
            + #" error="cr\ronly lf\nonly tab\tesc\u{1B}[31m nul\u{0} del\u{7F} c1\u{85} ls\u{2028}""#
            + #" bad_key__=v plain="a\\b""# + "\n")
        #expect(text.unicodeScalars.filter { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0.value == 0x2028 }.map(\.value) == [0x0A])
    }

    @Test func journaldLinesAreEscapedToo() {
        let text = line("m", [(key: "path", value: "/tasks\r\n<3>forged")], format: .journald)
        #expect(text == "<4>relay: m path=\"/tasks\\r\\n<3>forged\"\n")
    }

    @Test func jsonLinesStayOneLine() {
        let text = line("m\r\n", [(key: "k\n", value: "v\r\n\u{1B}")], format: .json)
        #expect(text.filter { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }.count == 1)
        #expect(text.hasSuffix("}\n"))
        #expect(!text.unicodeScalars.dropLast().contains { $0.value < 0x20 })
    }

    @Test func plainValuesAreUnquoted() {
        #expect(line("event parked", [(key: "outbox_id", value: "42"), (key: "error", value: "")])
            == "2026-11-24T06:12:31.782010Z warning relay: event parked outbox_id=42 error=\"\"\n")
    }
}
