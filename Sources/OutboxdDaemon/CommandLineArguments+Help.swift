extension CommandLineArguments {
    /// `outboxd <command> --help` (or `outboxd help <command>`): what the command does, its
    /// arguments, options and exit codes.
    public static func help(for command: Command) -> String {
        let common = """


            Every command also takes --config FILE and --<key> VALUE for any config key
            (`outboxd check-config` lists them with their values).
            """
        switch command {
        case .serve, .api, .relay, .consume:
            let what = switch command {
            case .serve: "Runs the HTTP Task API, the relay and the consumers (CONSUMERS) in one process."
            case .api: "Runs the HTTP Task API alone; a relay in another process hears of commits by NOTIFY."
            case .relay: "Runs the relay alone: publishes the outbox to Kafka (one active relay per shard)."
            default: "Runs the consumers alone (audit, notifications, reminders; CONSUMERS or --only)."
            }
            var text = """
                usage: outboxd \(command.rawValue) [--migrate]\(command == .consume ? " [--only LIST]" : "") [--config FILE] [--<key> VALUE]…

                \(what)
                Tells systemd READY=1, STATUS= and watchdog pings (Type=notify); stops gracefully on
                SIGTERM or SIGINT within SHUTDOWN_TIMEOUT.

                options:
                  --migrate                    apply pending migrations from MIGRATIONS_DIR before starting
                """
            if command == .consume { text += "\n  --only LIST                  these consumers only, e.g. audit,reminders (= CONSUMERS)" }
            if command != .serve {
                text += "\n  --metrics-listen HOST:PORT   also serve /healthz, /readyz and /metrics there (= METRICS_LISTEN)"
            }
            return text + "\n\nExit codes: 0 stopped cleanly, 69 PostgreSQL or Kafka unreachable at start, 78 bad configuration or schema." + common
        case .outbox:
            return """
                usage: outboxd outbox <subcommand> [--json] [options]

                Inspects and repairs the outbox (the same data as the outbox_* SQL views and functions).

                subcommands:
                  status                       backlog per topic: pending, oldest pending age, parked, published
                  pending [--limit N]          unpublished events that are not parked, oldest first
                  parked [--limit N]           parked events with their last error
                  show EVENT_ID                one event: state, attempts, error, partition and offset
                  retry EVENT_ID…              make these unpublished events due now (parked or backing off)
                  retry-parked [--since T]     make every event parked since T (RFC 3339) due now
                  replay --from T --to T [--no-wait]
                                               publish the events created from T to T again under the same
                                               ids; prints a progress line until they are published

                options:
                  --json                       JSON instead of tables

                Exit codes: 0 ok, 2 nothing matched, 3 (status) parked events exist, 64 usage, 69 database unreachable.
                """ + common
        case .migrate:
            return """
                usage: outboxd migrate [--config FILE] [--<key> VALUE]…

                Applies the pending numbered SQL migrations from MIGRATIONS_DIR, each in its own
                transaction, then exits. A database whose applied migrations changed is refused.

                Exit codes: 0 ok, 69 database unreachable, 78 bad configuration, 1 a migration failed.
                """ + common
        case .checkConfig:
            return """
                usage: outboxd check-config [--config FILE] [--<key> VALUE]…

                Prints every setting as KEY=value with where it came from (default, file:line,
                environment, flag); secrets show as ***. Exits 78 naming the key of an invalid value.
                """ + common
        case .version:
            return """
                usage: outboxd version (or outboxd --version)

                Prints one line each: outboxd's version, then librdkafka's (rd_kafka_version_str) and
                libpq's (PQlibVersion, major.minor), as loaded at run time (LD_LIBRARY_PATH can change them).
                """
        case .help:
            return usage
        }
    }
}
