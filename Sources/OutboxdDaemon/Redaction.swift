/// Hides secrets in values that `check-config` prints and logs mention.
public enum Redaction {
    public static let mask = "***"

    /// Keys whose whole value is secret (passwords, tokens, private keys).
    public static func isSecretKey(_ key: String) -> Bool {
        let upper = key.uppercased()
        return ["PASSWORD", "SECRET", "TOKEN", "_KEY_PEM", "CREDENTIAL", "SASL_OAUTHBEARER_CONFIG"].contains { upper.contains($0) }
    }

    /// A libpq conninfo or URI with its password replaced by `***`; everything else kept.
    public static func conninfo(_ value: String) -> String {
        if value.hasPrefix("postgres://") || value.hasPrefix("postgresql://") {
            return uri(value)
        }
        return keywordValue(value)
    }

    /// A setting's value as `check-config` prints it.
    public static func display(key: String, value: String, isSecret: Bool) -> String {
        if key == "DATABASE_URL" { return conninfo(value) }
        return isSecret && !value.isEmpty ? mask : value
    }

    private static func uri(_ value: String) -> String {
        guard let schemeEnd = value.range(of: "://") else { return value }
        var result = String(value[..<schemeEnd.upperBound])
        var rest = value[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") {
            let userinfo = authority[..<at]
            if let colon = userinfo.firstIndex(of: ":") {
                result += userinfo[..<colon] + ":" + mask
            } else {
                result += userinfo
            }
            result += authority[at...]
        } else {
            result += authority
        }
        rest = rest[authorityEnd...]
        guard let question = rest.firstIndex(of: "?") else { return result + rest }
        result += rest[...question]
        let parameters = rest[rest.index(after: question)...].split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
            let name = pair.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
            return name.lowercased() == "password" ? "\(name)=\(mask)" : String(pair)
        }
        return result + parameters.joined(separator: "&")
    }

    /// `host=db password='a b' user=x` → `host=db password=*** user=x`.
    private static func keywordValue(_ value: String) -> String {
        var output = ""
        var index = value.startIndex
        while index < value.endIndex {
            guard let match = value[index...].range(of: "password") else {
                output += value[index...]
                break
            }
            output += value[index..<match.upperBound]
            var cursor = match.upperBound
            while cursor < value.endIndex, value[cursor] == " " { output.append(" "); cursor = value.index(after: cursor) }
            guard cursor < value.endIndex, value[cursor] == "=" else {
                index = cursor
                continue
            }
            output += "="
            cursor = value.index(after: cursor)
            while cursor < value.endIndex, value[cursor] == " " { output.append(" "); cursor = value.index(after: cursor) }
            output += mask
            if cursor < value.endIndex, value[cursor] == "'" {
                cursor = value.index(after: cursor)
                while cursor < value.endIndex, value[cursor] != "'" {
                    if value[cursor] == "\\" { cursor = value.index(after: cursor) }
                    if cursor < value.endIndex { cursor = value.index(after: cursor) }
                }
                if cursor < value.endIndex { cursor = value.index(after: cursor) }
            } else {
                while cursor < value.endIndex, value[cursor] != " " { cursor = value.index(after: cursor) }
            }
            index = cursor
        }
        return output
    }
}
