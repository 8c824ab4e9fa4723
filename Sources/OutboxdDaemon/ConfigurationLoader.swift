import Foundation

/// Builds the effective configuration from, in rising precedence: defaults, the config file,
/// environment variables, command-line flags. Remembers where each value came from.
public struct ConfigurationLoader: Sendable {
    public enum Source: Sendable, Equatable, CustomStringConvertible {
        /// `secretFile`: read from the file its `<KEY>_FILE` names (`SecretFile`).
        case defaultValue, file(String, line: Int), environment, flag, secretFile(String)

        public var description: String {
            switch self {
            case .defaultValue: "default"
            case .file(let name, let line): "\(name):\(line)"
            case .environment: "environment"
            case .flag: "flag"
            case .secretFile(let path): "file \(path)"
            }
        }
    }

    /// One effective setting, for `check-config`.
    public struct Setting: Sendable, Equatable {
        public let key: String
        public let value: String
        public let source: Source
        public let isSecret: Bool
    }

    public private(set) var settings: [Setting] = []
    public private(set) var configuration = Configuration()

    /// - Parameters:
    ///   - fileText: contents of the config file, with `fileName` for messages.
    ///   - environment: the process environment; only known keys and `KAFKA_*` are read.
    ///   - flags: `KEY=value` pairs from the command line.
    public init(fileText: String?, fileName: String = "config", environment: [String: String],
                flags: [(key: String, value: String)]) throws(ConfigurationError) {
        var values: [String: (value: String, source: Source)] = [:]
        for key in ConfigurationKey.all { values[key.name] = (key.defaultValue, .defaultValue) }

        if let fileText {
            let entries: [EnvironmentFile.Entry]
            do {
                entries = try EnvironmentFile.parse(fileText, name: fileName)
            } catch let error as ConfigurationError {
                throw error
            } catch {
                throw ConfigurationError(key: nil, "\(fileName): \(error)")
            }
            for entry in entries {
                guard Self.isKnown(entry.key) else {
                    throw ConfigurationError(key: entry.key, "unknown key in \(fileName) line \(entry.line)\(Self.suggestion(for: entry.key))")
                }
                values[entry.key] = (entry.value, .file(fileName, line: entry.line))
            }
        }
        for (name, value) in environment where Self.isKnown(name) {
            values[name] = (value, .environment)
        }
        for flag in flags {
            guard Self.isKnown(flag.key) else {
                throw ConfigurationError(key: flag.key, "unknown setting given as a flag\(Self.suggestion(for: flag.key))")
            }
            values[flag.key] = (flag.value, .flag)
        }

        // C libraries (libpq, librdkafka) would end the value at a NUL, silently.
        for (name, entry) in values.sorted(by: { $0.key < $1.key }) where entry.value.utf8.contains(0) {
            throw ConfigurationError(key: name, "holds a NUL character (\(entry.source)); values are text without NULs")
        }

        var settings: [Setting] = []
        // Secrets from files: `<KEY>_FILE` replaces `<KEY>`, which must not be set as well.
        for name in values.keys.sorted() {
            guard let base = SecretFile.baseKey(of: name), let entry = values[name] else { continue }
            guard !entry.value.isEmpty else {
                // An empty KAFKA_<secret>_FILE names no file (and is no librdkafka property).
                if ConfigurationKey.named(name) == nil { values.removeValue(forKey: name) }
                continue
            }
            if let current = values[base], current.source != .defaultValue {
                throw ConfigurationError(key: name, "\(base) (\(current.source)) and \(name) (\(entry.source)) are both set; set only one of them")
            }
            let secret = try SecretFile.read(key: name, path: entry.value, credentialsDirectory: environment["CREDENTIALS_DIRECTORY"])
            values[base] = (secret.value, .secretFile(secret.path))
            if ConfigurationKey.named(name) == nil {
                // KAFKA_<secret>_FILE names a file, not a librdkafka property.
                values.removeValue(forKey: name)
                settings.append(Setting(key: name, value: entry.value, source: entry.source, isSecret: false))
            }
        }

        var configuration = Configuration()
        for key in ConfigurationKey.all {
            let (value, source) = values.removeValue(forKey: key.name)!
            do {
                try key.apply(&configuration, value)
            } catch let error as ConfigurationError {
                throw error
            } catch {
                throw ConfigurationError(key: key.name, "\(error)")
            }
            settings.append(Setting(key: key.name, value: value, source: source, isSecret: key.isSecret))
        }
        for (name, entry) in values.sorted(by: { $0.key < $1.key }) {
            // What remains are KAFKA_* passthrough settings.
            let property = Self.librdkafkaProperty(forKey: name)
            if let owner = Self.ownedProperties[property] {
                throw ConfigurationError(key: name, "librdkafka's \(property) follows \(owner); set that instead")
            }
            configuration.kafka.passthrough[property] = entry.value
            settings.append(Setting(key: name, value: entry.value, source: entry.source, isSecret: Redaction.isSecretKey(name)))
        }
        self.configuration = configuration
        self.settings = settings
    }

    /// Reads the file at `path` (if any) and the process environment, then checks the result
    /// against the libraries and this machine (`Configuration.checkWithLibrariesAndHost`): every
    /// command loads its settings here, so all refuse the same ones.
    public static func load(path: String?, flags: [(key: String, value: String)],
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) -> ConfigurationLoader {
        var text: String?
        if let path {
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw ConfigurationError(key: nil, "cannot read config file \(path): \(error.localizedDescription)")
            }
        }
        let loader = try ConfigurationLoader(fileText: text, fileName: path ?? "config", environment: environment, flags: flags)
        try loader.configuration.checkWithLibrariesAndHost()
        return loader
    }

    static func isKnown(_ key: String) -> Bool {
        ConfigurationKey.named(key) != nil || (key.hasPrefix("KAFKA_") && key.count > 6)
    }

    /// librdkafka properties the daemon derives from its own keys, so a passthrough cannot break
    /// what they promise: a message fails no later than the relay's wait for its report, and
    /// topics are created only by `KAFKA_TOPIC_CREATE`.
    static let ownedProperties = [
        "message.timeout.ms": "RELAY_DELIVERY_TIMEOUT", "delivery.timeout.ms": "RELAY_DELIVERY_TIMEOUT",
        "allow.auto.create.topics": "KAFKA_TOPIC_CREATE",
    ]

    /// `KAFKA_SASL_MECHANISMS` → `sasl.mechanisms`.
    static func librdkafkaProperty(forKey key: String) -> String {
        key.dropFirst("KAFKA_".count).lowercased().replacingOccurrences(of: "_", with: ".")
    }

    /// The known key at most 3 edits from `key`, if any. Only keys whose lengths differ by 3 or
    /// less are compared (more differ by more edits), so a long key costs one pass, not a
    /// distance table per known key.
    static func suggestion(for key: String) -> String {
        let length = key.utf8.count
        let close = ConfigurationKey.all.map(\.name)
            .filter { abs($0.utf8.count - length) <= 3 }
            .map { ($0, editDistance($0, key)) }
            .filter { $0.1 <= 3 }
            .min { $0.1 < $1.1 }
        return close.map { " (did you mean \($0.0)?)" } ?? ""
    }

    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
