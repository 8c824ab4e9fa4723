import Glibc
import Synchronization

/// One line per event on stderr. Text by default; `<N>` syslog priority prefixes when stderr goes
/// to journald (`JOURNAL_STREAM` set); JSON lines as an option. Messages and fields must not hold
/// secrets or payloads.
public struct Logger: Sendable {
    public enum Level: Int, Sendable, Comparable, CaseIterable {
        case debug, info, notice, warning, error

        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }

        /// The name used in config (`LOG_LEVEL`) and output.
        public var name: String {
            switch self {
            case .debug: "debug"
            case .info: "info"
            case .notice: "notice"
            case .warning: "warning"
            case .error: "error"
            }
        }

        /// syslog priority for the journald prefix.
        var syslogPriority: Int {
            switch self {
            case .debug: 7
            case .info: 6
            case .notice: 5
            case .warning: 4
            case .error: 3
            }
        }
    }

    public enum Format: String, Sendable, CaseIterable {
        case text, json, journald
    }

    /// Process-wide output settings, set once at start-up.
    public struct Settings: Sendable {
        public var minimum: Level = .info
        public var format: Format = Logger.defaultFormat()
        public init() {}
    }

    private static let settings = Mutex(Settings())
    private static let output = Mutex(())

    public static func configure(_ settings: Settings) {
        Self.settings.withLock { $0 = settings }
    }

    /// `journald` when stderr is the journal's stream, else `text`.
    public static func defaultFormat() -> Format {
        getenv("JOURNAL_STREAM") != nil ? .journald : .text
    }

    public let label: String

    public init(label: String) {
        self.label = label
    }

    public func debug(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) { log(.debug, message, fields) }
    public func info(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) { log(.info, message, fields) }
    public func notice(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) { log(.notice, message, fields) }
    public func warning(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) { log(.warning, message, fields) }
    public func error(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) { log(.error, message, fields) }

    public func log(_ level: Level, _ message: String, _ fields: KeyValuePairs<String, String> = [:]) {
        log(level, message, fields: fields.map { (key: $0.key, value: $0.value) })
    }

    /// For fields built at run time.
    public func log(_ level: Level, _ message: String, fields: [(key: String, value: String)]) {
        let settings = Self.settings.withLock { $0 }
        guard level >= settings.minimum else { return }
        let line = Self.format(level: level, label: label, message: message, fields: fields,
                               format: settings.format, time: Timestamp.now())
        LogCapture.record(line)
        Self.output.withLock { _ in
            var bytes = Array(line.utf8)
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
                if written <= 0 { break }
                offset += written
            }
        }
    }

    /// Formats one line (with its newline); pure, for tests.
    public static func format(level: Level, label: String, message: String, fields: [(key: String, value: String)],
                              format: Format, time: Timestamp) -> String {
        switch format {
        case .json:
            var object = JSONObject()
            object.append("time", .string(time.rfc3339))
            object.append("level", .string(level.name))
            object.append("component", .string(label))
            object.append("msg", .string(message))
            for field in fields { object.append(field.key, .string(field.value)) }
            return JSONWriter.string(.object(object)) + "\n"
        case .text, .journald:
            var line = format == .journald ? "<\(level.syslogPriority)>" : "\(time.rfc3339) \(level.name) "
            line += "\(label): \(escaped(message))"
            for field in fields {
                let value = field.value
                let needsQuotes = value.isEmpty || value.unicodeScalars.contains { " \"=\\".unicodeScalars.contains($0) || isControl($0) }
                line += " \(safeKey(field.key))=" + (needsQuotes ? "\"\(escaped(value.replacingQuoteMarks()))\"" : value)
            }
            return line + "\n"
        }
    }

    /// Control characters (C0, DEL, C1, U+2028/U+2029) written as `\n`, `\r`, `\t` or `\u{XX}`, by
    /// Unicode scalar (a CRLF is one `Character`), so text from a row or a request can neither end
    /// the line nor forge another one nor send terminal escapes.
    static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            guard isControl(scalar) else {
                out.append(scalar)
                continue
            }
            let escape: String = switch scalar {
            case "\n": "\\n"
            case "\r": "\\r"
            case "\t": "\\t"
            default: "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            }
            out.append(contentsOf: escape.unicodeScalars)
        }
        return String(out)
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
    }

    /// A field name as code writes them (`[A-Za-z0-9_.-]`); anything else becomes `_`, so a key can
    /// never hold a space, `=`, a quote or a line break.
    static func safeKey(_ key: String) -> String {
        func allowed(_ scalar: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) || "_.-".unicodeScalars.contains(scalar)
        }
        if !key.isEmpty, key.unicodeScalars.allSatisfy(allowed) { return key }
        var out = String.UnicodeScalarView()
        for scalar in key.unicodeScalars { out.append(allowed(scalar) ? scalar : "_") }
        return out.isEmpty ? "_" : String(out)
    }
}

private extension String {
    func replacingQuoteMarks() -> String {
        var out = String.UnicodeScalarView()
        for scalar in unicodeScalars {
            if scalar == "\"" || scalar == "\\" { out.append("\\") }
            out.append(scalar)
        }
        return String(out)
    }
}
