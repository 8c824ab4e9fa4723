import OutboxdDaemon
import OutboxdTestSupport

/// Random config files, environments and flags for the configuration fuzz target. Each file line
/// is generated with what the parser must make of it, unless it is random text.
struct ConfigInputGenerator {
    enum Expect: Equatable {
        case skip
        /// A `KEY=VALUE` entry; `valid` says whether the value is valid for a known key (nil: unknown).
        case entry(key: String, value: String, valid: Bool?)
        case syntaxError
        case unpredictable
    }

    struct Line {
        var text: String
        var expect: Expect
    }

    struct Input {
        var lines: [Line]
        var fileText: String
        var environment: [String: String]
        var flags: [(key: String, value: String)]
        /// Values of secrets, which no message and no `check-config` line may show.
        var secrets: [String]
        /// Whether each environment variable's value is valid for its key (nil: unknown).
        var environmentValidity: [String: Bool?]
        /// Whether the last value of each flag is valid for its key (nil: unknown).
        var flagValidity: [String: Bool?]
    }

    static func input(_ random: inout SplitMix64) -> Input {
        var input = Input(lines: [], fileText: "", environment: [:], flags: [], secrets: [], environmentValidity: [:], flagValidity: [:])
        // Half the inputs hold only well-formed lines and mostly valid values, to reach the loader's later checks.
        let clean = random.chance(50)
        for _ in 0..<random.int(0...12) { input.lines.append(line(&random, clean: clean, secrets: &input.secrets)) }
        for (index, line) in input.lines.enumerated() {
            input.fileText += line.text
            if index < input.lines.count - 1 || random.chance(70) { input.fileText += random.chance(25) ? "\r\n" : "\n" }
        }
        if !input.lines.isEmpty, random.chance(5) { input.fileText = "\u{FEFF}" + input.fileText }
        for _ in 0..<random.int(0...3) {
            let (key, value, valid) = setting(&random, clean: clean, secrets: &input.secrets)
            input.environment[key] = value
            input.environmentValidity[key] = valid
        }
        if random.chance(20) { input.environment[random.pick(["PATH", "HOME", "HTTP_LISTN", "KAFKA_"])] = random.pick(["x", ""]) }
        for _ in 0..<random.int(0...3) {
            let (key, value, valid) = setting(&random, clean: clean, secrets: &input.secrets)
            input.flags.append((key, value))
            input.flagValidity[key] = valid
        }
        if !clean, random.chance(5) { input.flags.append((random.pick(unknownKeys), "x")) }
        return input
    }

    // MARK: Lines

    private static func line(_ random: inout SplitMix64, clean: Bool, secrets: inout [String]) -> Line {
        switch clean ? random.pick([0, 1, 7, 7, 7, 7]) : random.int(0...19) {
        case 0: return Line(text: random.pick(["", " ", "\t", " \t "]), expect: .skip)
        case 1: return Line(text: random.pick(["", "  ", "\t"]) + random.pick(["#", ";"]) + text(&random, from: commentScalars, count: random.int(0...20)), expect: .skip)
        case 2: return Line(text: random.pick(noEquals), expect: .syntaxError)
        case 3: return Line(text: random.pick(badKeys) + "=x", expect: .syntaxError)
        case 4:
            let key = random.pick(ConfigurationKey.all).name
            return Line(text: key + "=" + random.pick(unterminated), expect: .syntaxError)
        case 5:
            let key = random.pick(unknownKeys)
            return Line(text: key + "=1", expect: .entry(key: key, value: "1", valid: nil))
        case 6:
            return Line(text: text(&random, from: randomScalars, count: random.int(0...30)), expect: .unpredictable)
        default:
            let (key, value, valid) = setting(&random, clean: clean, secrets: &secrets)
            return Line(text: entryText(key: key, value: value, &random), expect: .entry(key: key, value: value, valid: valid))
        }
    }

    /// `KEY=VALUE` with random spacing and quoting that all mean `value`.
    private static func entryText(key: String, value: String, _ random: inout SplitMix64) -> String {
        let before = random.pick(["", " ", "\t"]), around = random.pick(["", " ", "\t "])
        let plainIsExact = value.first.map { !"\"' \t".contains($0) } ?? true && value.last.map { !" \t".contains($0) } ?? true
        let quoted: String
        switch random.int(0...2) {
        case 0 where plainIsExact:
            quoted = value
        case 1 where !value.contains("'"):
            quoted = "'" + value + "'"
        default:
            quoted = "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        let trailing = quoted.first == "\"" || quoted.first == "'" ? random.pick(["", " ", "\t"]) : ""
        return before + key + around + "=" + around + quoted + trailing
    }

    /// A key and a value for the file, the environment or a flag; `valid` tells whether the value
    /// is valid for the key (nil when it is random).
    private static func setting(_ random: inout SplitMix64, clean: Bool, secrets: inout [String]) -> (String, String, Bool?) {
        if random.chance(10) {
            let secret = "S3CRET-\(random.next() % 1_000_000)"
            secrets.append(secret)
            if random.chance(50) { return ("KAFKA_SASL_PASSWORD", secret, true) }
            return ("DATABASE_URL", random.pick(databaseURLs).replacingOccurrences(of: "SECRET", with: secret), true)
        }
        if random.chance(10) {
            return ("KAFKA_" + random.pick(["COMPRESSION_TYPE", "SASL_USERNAME", "LINGER_MS", "X"]), text(&random, from: valueScalars, count: random.int(0...10)), true)
        }
        let key = random.pick(ConfigurationKey.all)
        if random.chance(clean ? 95 : 60) {
            return (key.name, random.pick(validValues[key.name, default: []] + [key.defaultValue]), true)
        }
        let value = random.chance(50) ? random.pick(randomValues) : text(&random, from: valueScalars, count: random.int(0...16))
        return (key.name, value, nil)
    }

    // MARK: Values

    /// Valid values besides the default, for some keys.
    static let validValues: [String: [String]] = [
        "DATABASE_POOL_SIZE": ["1", "1000"],
        "DATABASE_CONNECT_TIMEOUT": ["2s", "5m"],
        "HTTP_LISTEN": ["[::1]:0", "0.0.0.0:65535", "localhost:8080", "db.example:1"],
        "HTTP_MAX_BODY_BYTES": ["1", "67108864"],
        "HTTP_MAX_HEADER_BYTES": ["4096", "1048576"],
        "HTTP_IDLE_TIMEOUT": ["1s", "60m", "1h"],
        "GROUP_COMMIT": ["on", "OFF", "true", "no", "1", "Yes"],
        "GROUP_COMMIT_WINDOW": ["0s", "100ms", "0ms"],
        "CONSUMERS": ["none", "audit", "reminders, audit", "notifications,audit,reminders"],
        "CONSUMER_GROUP_PREFIX": ["a", "team.x_y-"],
        "NOTIFICATION_WEBHOOK_URL": ["", "http://127.0.0.1:9/x", "http://hooks"],
        "KAFKA_BOOTSTRAP_SERVERS": ["embedded", "k1:9092,k2:9092"],
        "RELAY_BATCH_SIZE": ["1", "100000"],
        "OUTBOX_RETENTION": ["0s", "365h"],
        "OUTBOX_TOPIC": ["a", "x.y-z_1", String(repeating: "t", count: 245)],
        "EVENT_SOURCE": ["/outboxd", "a b = c # d"],
        "LOG_LEVEL": ["debug", "error"],
        "LOG_FORMAT": ["text", "json", "journald"],
        "SHUTDOWN_TIMEOUT": ["100ms", "10m"],
    ]

    static let randomValues = [
        "", " ", "0", "-1", "1.5", "+5", "0x10", "1e3", "99999999999999999999", "9223372036854775807", "-9223372036854775808",
        "5", "5s", "5 s", "5S", "1000000000h", "999999999h", "0ms", "-1s", "s", "ms", "1d", "1w", "１s",
        ":", "[", "]:1", "[::1]", "[::1]:", "host:", ":80", "h:-1", "h:65536", "a:b:c", "[]:1", "http://", "http://:1", "http://h:0",
        "https://x", "on ", "maybe", "audit,", ",", "none,audit", "AUDIT", ".", "..", "bad topic", "DEBUG", "auto", "\u{0}",
        String(repeating: "x", count: 400), "é", "😀", "a\u{301}",
    ]

    static let unknownKeys = ["HTTP_LISTN", "FOO", "KAFKA_", "kafka_bootstrap_servers", "http_listen", "_", "DATABASE_URL_", "A1"]
    static let badKeys = ["1ABC", "A-B", "A B", "", "ÄÖ", "export FOO", "KEY\u{0}", "K\"", "😀"]
    static let noEquals = ["JUSTTEXT", "export FOO", "KEY", "\"A=1\"", "KEY:1", "[section]"]
    static let unterminated = ["\"abc", "'abc", "\"abc\" junk", "'a'b", "\"a\\\"", "\"", "'", "\"abc\\"]
    static let databaseURLs = [
        "postgresql://user:SECRET@db:5432/outboxd", "postgres://u:SECRET@h/db?sslmode=disable", "host=db password=SECRET user=u",
        "host=db password = SECRET dbname=x", "postgresql://db/x?password=SECRET&sslmode=require",
    ]

    private static let commentScalars: [Unicode.Scalar] = ["a", "Z", " ", "=", "\"", "'", "#", "\\", "é", "😀"]
    private static let valueScalars: [Unicode.Scalar] = ["a", "Z", "0", "9", " ", "=", "#", ";", ":", ".", "-", "_", "/", "\\", "\"", "'", "é", "漢", "😀", "\u{2028}"]
    private static let randomScalars: [Unicode.Scalar] = valueScalars + ["A", "_", "\t", "\r", "\u{0}", "\u{1}", "\u{FEFF}", "\u{301}", "\u{85}", "\u{FFFD}"]

    private static func text(_ random: inout SplitMix64, from scalars: [Unicode.Scalar], count: Int) -> String {
        var view = String.UnicodeScalarView()
        for _ in 0..<count { view.append(random.pick(scalars)) }
        return String(view)
    }
}
