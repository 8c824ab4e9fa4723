/// Parses systemd `EnvironmentFile` syntax: `KEY=VALUE` lines, `#` and `;` comments, blank lines,
/// values optionally in single or double quotes (double quotes allow `\"` and `\\`).
public enum EnvironmentFile {
    public struct Entry: Sendable, Equatable {
        public let key: String
        public let value: String
        public let line: Int
    }

    public static func parse(_ text: String, name: String) throws -> [Entry] {
        var entries: [Entry] = []
        // A byte order mark (editors on Windows write one) is not part of the first key.
        let text = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        // "\r\n" is one Character, so splitting on "\n" alone would not split CRLF files at all.
        let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
        for (index, rawLine) in lines.enumerated() {
            let lineNumber = index + 1
            let line = rawLine.trimming(" \t\r")
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigurationError(key: nil, "\(name) line \(lineNumber): expected KEY=VALUE")
            }
            let key = line[..<equals].trimming(" \t")
            guard isValidKey(key) else {
                throw ConfigurationError(key: nil, "\(name) line \(lineNumber): \"\(key.prefix(64))\" is not a valid key (letters, digits and _; not starting with a digit)")
            }
            let rawValue = line[line.index(after: equals)...].trimming(" \t")
            let value: String
            do {
                value = try unquote(rawValue)
            } catch {
                throw ConfigurationError(key: key, "\(name) line \(lineNumber): unterminated quote")
            }
            entries.append(Entry(key: key, value: value, line: lineNumber))
        }
        return entries
    }

    static func isValidKey(_ key: String) -> Bool {
        guard let first = key.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return key.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    private struct UnterminatedQuote: Error {}

    private static func unquote(_ value: String) throws -> String {
        guard let quote = value.first, quote == "\"" || quote == "'" else { return value }
        var result = ""
        var escaped = false
        var index = value.index(after: value.startIndex)
        while index < value.endIndex {
            let character = value[index]
            if escaped {
                result.append(character)
                escaped = false
            } else if character == "\\" && quote == "\"" {
                escaped = true
            } else if character == quote {
                let rest = value[value.index(after: index)...]
                guard rest.allSatisfy({ $0 == " " || $0 == "\t" }) else { throw UnterminatedQuote() }
                return result
            } else {
                result.append(character)
            }
            index = value.index(after: index)
        }
        throw UnterminatedQuote()
    }
}

extension StringProtocol {
    func trimming(_ set: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
