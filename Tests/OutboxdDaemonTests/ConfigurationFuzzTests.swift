import Foundation
import OutboxdTestSupport
import Testing
@testable import OutboxdDaemon

/// Random config files (lines of every kind, quoting, CRLF, BOM, NULs), environments and flags
/// through `EnvironmentFile` and `ConfigurationLoader`: no input crashes them, each error names
/// its key or its line and never shows a secret, and what parses means what the lines say.
@Suite struct ConfigurationFuzzTests {
    typealias Input = ConfigInputGenerator.Input

    static let fileName = "fuzz.conf"

    @Test func loaderHoldsOnRandomFilesEnvironmentsAndFlags() {
        let report = Fuzz.run("config") { random in
            try Self.check(ConfigInputGenerator.input(&random))
        }
        if let failure = report.failure { Issue.record(Comment(rawValue: failure)) }
    }

    static func check(_ input: Input) throws(FuzzFailure) {
        let entries = try checkFile(input)
        let loaded = Result { () throws(ConfigurationError) in
            try ConfigurationLoader(fileText: input.fileText, fileName: fileName, environment: input.environment, flags: input.flags)
        }
        if case .failure(let error) = loaded {
            try require(!error.message.isEmpty, "error without a message", input)
            if let key = error.key {
                try require(error.description.hasPrefix(key + ": "), "error does not start with its key: \(error)", input)
            } else {
                try require(error.message.contains("\(fileName) line "), "error names neither a key nor a line: \(error)", input)
            }
            for secret in input.secrets {
                try require(!error.description.contains(secret), "error shows a secret: \(error)", input)
            }
        }
        guard let entries else {
            try require((try? loaded.get()) == nil, "loader accepted a file EnvironmentFile refused", input)
            return
        }
        try checkLoader(loaded, entries: entries, input)
    }

    /// `EnvironmentFile` gives exactly the entries of the predictable lines, or refuses the first
    /// bad line by number. Returns the entries when it parsed.
    private static func checkFile(_ input: Input) throws(FuzzFailure) -> [EnvironmentFile.Entry]? {
        var lines = input.lines
        if input.fileText.hasPrefix("\u{FEFF}"), !lines.isEmpty { lines[0].expect = .unpredictable }
        let parsed = Result { try EnvironmentFile.parse(input.fileText, name: fileName) }
        let firstSyntaxError = lines.firstIndex { $0.expect == .syntaxError }.map { $0 + 1 }
        switch parsed {
        case .failure(let error):
            let message = "\(error)"
            let line = lineNumber(in: message)
            try require(line != nil && line! <= lines.count, "file error names no line of the file: \(message)", input)
            try require(lines[line! - 1].expect == .syntaxError || lines[line! - 1].expect == .unpredictable,
                        "line \(line!) refused though it is well-formed: \(message)", input)
            try require(line! <= (firstSyntaxError ?? Int.max), "refused line \(line!), not the first bad line \(firstSyntaxError!)", input)
            return nil
        case .success(let entries):
            try require(firstSyntaxError == nil, "line \(firstSyntaxError ?? 0) accepted though it is malformed: \(entries)", input)
            for (index, line) in lines.enumerated() {
                let found = entries.filter { $0.line == index + 1 }
                switch line.expect {
                case .skip:
                    try require(found.isEmpty, "line \(index + 1) should be skipped, gave \(found)", input)
                case .entry(let key, let value, _):
                    try require(found.count == 1 && found[0].key == key && found[0].value == value,
                                "line \(index + 1) should give \(key)=\(value.debugDescription), gave \(found)", input)
                case .syntaxError, .unpredictable:
                    break
                }
            }
            return entries
        }
    }

    /// Which error comes first, or the effective values when none does.
    private static func checkLoader(_ loaded: Result<ConfigurationLoader, ConfigurationError>, entries: [EnvironmentFile.Entry],
                                    _ input: Input) throws(FuzzFailure) {
        if let unknown = entries.first(where: { !ConfigurationLoader.isKnown($0.key) }) {
            guard case .failure(let error) = loaded, error.key == unknown.key, error.message.contains("line \(unknown.line)") else {
                throw failure("unknown key \(unknown.key) on line \(unknown.line) gave \(loaded)", input)
            }
            return
        }
        if let unknown = input.flags.first(where: { !ConfigurationLoader.isKnown($0.key) }) {
            guard case .failure(let error) = loaded, error.key == unknown.key else {
                throw failure("unknown flag \(unknown.key) gave \(loaded)", input)
            }
            return
        }
        var effective: [String: (value: String, source: ConfigurationLoader.Source, valid: Bool?)] = [:]
        for entry in entries {
            let valid: Bool? = if case .entry(_, _, let valid) = input.lines[entry.line - 1].expect { valid } else { nil }
            effective[entry.key] = (entry.value, .file(fileName, line: entry.line), valid)
        }
        for (key, value) in input.environment where ConfigurationLoader.isKnown(key) {
            effective[key] = (value, .environment, input.environmentValidity[key] ?? nil)
        }
        for flag in input.flags {
            effective[flag.key] = (flag.value, .flag, input.flagValidity[flag.key] ?? nil)
        }
        switch loaded {
        case .failure(let error):
            let culprit = error.key.flatMap { effective[$0] }
            try require(culprit != nil && culprit!.valid != true, "valid configuration refused: \(error)", input)
        case .success(let loader):
            let settings = Dictionary(loader.settings.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
            for (key, expected) in effective {
                try require(settings[key]?.value == expected.value && settings[key]?.source == expected.source,
                            "\(key) should be \(expected.value.debugDescription) from \(expected.source), is \(String(describing: settings[key]))", input)
            }
            for setting in loader.settings {
                let shown = Redaction.display(key: setting.key, value: setting.value, isSecret: setting.isSecret)
                for secret in input.secrets {
                    try require(!shown.contains(secret), "check-config shows a secret: \(setting.key)=\(shown)", input)
                }
            }
        }
    }

    /// `fuzz.conf line 7: …` → 7.
    private static func lineNumber(in message: String) -> Int? {
        guard let range = message.range(of: "\(fileName) line ") else { return nil }
        return Int(message[range.upperBound...].prefix { $0.isNumber })
    }

    private static func require(_ condition: Bool, _ message: @autoclosure () -> String, _ input: Input) throws(FuzzFailure) {
        guard condition else { throw failure(message(), input) }
    }

    private static func failure(_ message: String, _ input: Input) -> FuzzFailure {
        let environment = input.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.debugDescription)" }
        let flags = input.flags.map { "\($0.key)=\($0.value.debugDescription)" }
        return FuzzFailure("\(message)\nenvironment: \(environment)\nflags: \(flags)\nfile lines: \(input.lines.map(\.text))",
                           input: Array(input.fileText.utf8))
    }
}
