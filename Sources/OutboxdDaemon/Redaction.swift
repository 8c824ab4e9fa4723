import Foundation

/// Hides secrets in values that `check-config` prints and messages mention, and cuts long values
/// that errors echo.
public enum Redaction {
    public static let mask = "***"

    /// Keys whose whole value is secret (passwords, tokens, private keys).
    public static func isSecretKey(_ key: String) -> Bool {
        let upper = key.uppercased()
        return ["PASSWORD", "PASSPHRASE", "SECRET", "TOKEN", "_KEY_PEM", "CREDENTIAL", "SASL_OAUTHBEARER_CONFIG"].contains { upper.contains($0) }
    }

    /// At most `limit` characters of `text` for an error message, with the length of the rest.
    public static func excerpt(_ text: some StringProtocol, limit: Int = 40) -> String {
        guard text.utf8.count > limit else { return String(text) }
        let head = text.prefix(limit)
        return "\(head)… (\(text.utf8.count) bytes)"
    }

    /// `text` with each of `secrets` (at least 3 bytes long) replaced by `***`.
    public static func scrub(_ text: String, secrets: [String]) -> String {
        secrets.filter { $0.utf8.count >= 3 }.sorted { $0.utf8.count > $1.utf8.count }.reduce(text) {
            $0.replacingOccurrences(of: $1, with: mask)
        }
    }

    /// A libpq conninfo or URI with its password replaced by `***`, however it is spelled: in the
    /// URI's userinfo (also with an unencoded `/`, `?`, `@` or a malformed `%` escape in it), as a
    /// `password` parameter or keyword in any case or percent-escaped (`pass%77ord=`). Everything
    /// else is kept.
    public static func conninfo(_ value: String) -> String {
        if let schemeEnd = value.range(of: "://"), ["postgresql", "postgres"].contains(value[..<schemeEnd.lowerBound].lowercased()) {
            return uri(value, afterScheme: schemeEnd.upperBound)
        }
        return keywordValue(value)
    }

    /// A setting's value as `check-config` prints it.
    public static func display(key: String, value: String, isSecret: Bool) -> String {
        if key == "DATABASE_URL" { return conninfo(value) }
        return isSecret && !value.isEmpty ? mask : value
    }

    /// Whether a conninfo keyword or URI parameter names the password: `password`, `PassWord`,
    /// `pass%77ord`.
    static func isPasswordName(_ name: some StringProtocol) -> Bool {
        percentDecoded(name).lowercased().contains("password")
    }

    private static func uri(_ value: String, afterScheme start: String.Index) -> String {
        let rest = value[start...]
        var result = String(value[..<start])
        var tail = rest
        // The userinfo ends at the last "@" before the query, which starts at the first "?" after
        // the first "@": libpq stops at the first "@" or "/", but a password with an unencoded
        // "/", "?" or "@" is still a password.
        if let firstAt = rest.firstIndex(of: "@") {
            let queryStart = rest[firstAt...].firstIndex(of: "?") ?? rest.endIndex
            let at = rest[..<queryStart].lastIndex(of: "@")!
            let userinfo = rest[..<at]
            if let colon = userinfo.firstIndex(of: ":") {
                result += userinfo[..<colon] + ":" + mask
            } else {
                result += userinfo
            }
            result += "@"
            tail = rest[rest.index(after: at)...]
        }
        guard let question = tail.firstIndex(of: "?") else { return result + tail }
        result += tail[...question]
        let parameters = tail[tail.index(after: question)...].split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
            guard let equals = pair.firstIndex(of: "="), isPasswordName(pair[..<equals]) else { return String(pair) }
            return pair[...equals] + mask
        }
        return result + parameters.joined(separator: "&")
    }

    /// `host=db password='a b' user=x` → `host=db password=*** user=x`, read as libpq reads it
    /// (whitespace-separated `keyword = value`, values quoted with `'` or not, `\` escapes). From
    /// the first thing libpq could not read on, everything is masked: it may be the rest of a
    /// password with a space in it.
    private static func keywordValue(_ value: String) -> String {
        guard value.contains("=") else { return value } // a database name, to libpq
        let characters = Array(value.unicodeScalars)
        var output = String.UnicodeScalarView()
        var index = 0
        func isSpace(_ index: Int) -> Bool { index < characters.count && " \t\n\r\u{0B}\u{0C}".unicodeScalars.contains(characters[index]) }
        func copySpaces() { while isSpace(index) { output.append(characters[index]); index += 1 } }
        copySpaces()
        while index < characters.count {
            let keywordStart = index
            while index < characters.count, !isSpace(index), characters[index] != "=" { index += 1 }
            let keyword = String(String.UnicodeScalarView(characters[keywordStart..<index]))
            let spaces = index
            while isSpace(index) { index += 1 }
            guard index < characters.count, characters[index] == "=" else {
                output.append(contentsOf: mask.unicodeScalars)
                break
            }
            output.append(contentsOf: keyword.unicodeScalars)
            output.append(contentsOf: characters[spaces..<index])
            output.append("=")
            index += 1
            copySpaces()
            let valueStart = index
            var closed = true
            if index < characters.count, characters[index] == "'" {
                index += 1
                closed = false
                while index < characters.count {
                    if characters[index] == "\\" { index += 2; continue }
                    if characters[index] == "'" { index += 1; closed = true; break }
                    index += 1
                }
            } else {
                while index < characters.count, !isSpace(index) { index += characters[index] == "\\" ? 2 : 1 }
            }
            index = min(index, characters.count)
            if isPasswordName(keyword) || !closed {
                if index > valueStart { output.append(contentsOf: mask.unicodeScalars) }
            } else {
                output.append(contentsOf: characters[valueStart..<index])
            }
            copySpaces()
        }
        return String(output)
    }

    /// `%XX` escapes decoded; malformed ones kept as they are.
    private static func percentDecoded(_ text: some StringProtocol) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        let utf8 = Array(text.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "%"), index + 2 < utf8.count,
               let byte = UInt8(String(decoding: utf8[index + 1...index + 2], as: UTF8.self), radix: 16) {
                bytes.append(byte)
                index += 3
            } else {
                bytes.append(utf8[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
