/// The parsed command line: `outboxd <command> [--config FILE] [--migrate] [--some-key value]…`.
/// Any `--foo-bar v` (or `--foo-bar=v`) sets config key `FOO_BAR`, overriding file and environment.
public struct CommandLineArguments: Sendable, Equatable {
    public enum Command: String, Sendable, CaseIterable {
        case serve, api, relay, consume, outbox, migrate, checkConfig = "check-config", version, help
    }

    public var command: Command
    public var configPath: String?
    public var migrate = false
    public var wantsHelp = false
    public var settings: [Setting] = []
    /// `outbox`: the subcommand and its arguments (`retry <id> <id>`).
    public var positional: [String] = []
    /// `outbox`: `--json`, `--no-wait`, `--from`, `--to`, `--since`, `--limit`.
    public var outboxOptions: [String: String] = [:]

    public struct Setting: Sendable, Equatable {
        public let key: String
        public let value: String
    }

    public init(command: Command) {
        self.command = command
    }

    public init(_ arguments: [String]) throws(DaemonError) {
        var rest = arguments[...]
        guard let first = rest.popFirst() else { throw DaemonError(.usage, "no command given\n\n\(Self.usage)") }
        if first == "-h" || first == "--help" {
            self.init(command: .help)
            return
        }
        if first == "--version" {
            self.init(command: .version)
            return
        }
        guard let command = Command(rawValue: first) else {
            throw DaemonError(.usage, "unknown command \"\(first.prefix(64))\"; commands: \(Command.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.init(command: command)
        while let argument = rest.popFirst() {
            guard argument.hasPrefix("--") else {
                guard command == .outbox || (command == .help && positional.isEmpty) else {
                    throw DaemonError(.usage, "unexpected argument \"\(argument.prefix(64))\"; options start with --")
                }
                positional.append(argument)
                continue
            }
            var name = String(argument.dropFirst(2))
            var inlineValue: String?
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            func value() throws(DaemonError) -> String {
                if let inlineValue { return inlineValue }
                guard let next = rest.popFirst() else { throw DaemonError(.usage, "--\(name) needs a value") }
                return next
            }
            switch name {
            case "help":
                wantsHelp = true
            case "migrate" where [.serve, .api, .relay, .consume].contains(command) && inlineValue == nil:
                migrate = true
            case "json" where command == .outbox && inlineValue == nil, "no-wait" where command == .outbox && inlineValue == nil:
                outboxOptions[name] = ""
            case "from" where command == .outbox, "to" where command == .outbox, "since" where command == .outbox, "limit" where command == .outbox:
                outboxOptions[name] = try value()
            case "only" where command == .consume:
                settings.append(Setting(key: "CONSUMERS", value: try value()))
            case "config":
                configPath = try value()
            default:
                guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
                    throw DaemonError(.usage, "unknown option --\(name.prefix(64))")
                }
                settings.append(Setting(key: name.uppercased().replacingDashes(), value: try value()))
            }
        }
    }

    public static let usage = """
        usage: outboxd <command> [options]

        commands:
          serve          run the HTTP Task API, the relay and the consumers (CONSUMERS) in one process
          api            run the HTTP Task API alone (relays elsewhere hear of commits by NOTIFY)
          relay          run the relay alone: publish the outbox to Kafka
          consume        run the consumers alone (audit, notifications, reminders)
          outbox         inspect and repair the outbox: status | pending | parked | show ID | retry ID… |
                         retry-parked [--since T] | replay --from T --to T [--no-wait]; --json for JSON
          migrate        apply pending SQL migrations from MIGRATIONS_DIR, then exit
          check-config   print the effective configuration (secrets redacted) and exit
          version        print the versions of outboxd, librdkafka and libpq (also: outboxd --version)
          help [COMMAND] print this text, or what COMMAND does (also: outboxd COMMAND --help)

        options:
          --config FILE          read KEY=VALUE settings from FILE (systemd EnvironmentFile format)
          --migrate              serve/api/relay/consume: apply pending migrations before starting
          --only LIST            consume: these consumers only, e.g. --only audit,reminders (= CONSUMERS)
          --<key> VALUE          set any config key, e.g. --http-listen 127.0.0.1:9090 (= HTTP_LISTEN)

        Settings come from defaults, then the config file, then the environment, then flags.
        Exit codes: 0 ok, 64 usage, 69 a dependency is unreachable, 78 bad configuration or schema, 1 other failure.
        """
}

private extension String {
    func replacingDashes() -> String {
        String(map { $0 == "-" ? "_" : $0 })
    }
}
