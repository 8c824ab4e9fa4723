import Foundation
import Glibc
import OutboxdConsumers
import OutboxdCore
import OutboxdPostgres

/// Runs one command line and returns the process exit code.
public enum OutboxdCommand {
    public static func main(_ arguments: [String]) -> Int32 {
        do {
            let parsed = try CommandLineArguments(Array(arguments.dropFirst()))
            if parsed.command == .help, let name = parsed.positional.first {
                guard let command = CommandLineArguments.Command(rawValue: name) else {
                    throw DaemonError(.usage, "unknown command \"\(name.prefix(64))\"; commands: \(CommandLineArguments.Command.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                print(CommandLineArguments.help(for: command))
                return 0
            }
            if parsed.wantsHelp || parsed.command == .help {
                print(CommandLineArguments.help(for: parsed.command))
                return 0
            }
            if parsed.command == .version {
                print(OutboxdVersion.text, terminator: "")
                return 0
            }
            let loader: ConfigurationLoader
            do {
                loader = try ConfigurationLoader.load(path: parsed.configPath,
                                                      flags: parsed.settings.map { (key: $0.key, value: $0.value) })
            } catch {
                throw DaemonError(.configuration, "invalid configuration: \(error)")
            }
            Logger.configure(loader.configuration.logging)
            if let path = parsed.configPath, let warning = ConfigFilePermissions.warning(path: path, settings: loader.settings) {
                Logger(label: "outboxd").warning(warning)
            }
            switch parsed.command {
            case .checkConfig:
                print(checkConfigText(loader), terminator: "")
            case .migrate:
                try migrate(loader.configuration)
            case .serve:
                try serve(loader.configuration, parts: [.api, .relay, .consumers], migrate: parsed.migrate, configPath: parsed.configPath)
            case .api:
                try serve(loader.configuration, parts: [.api], migrate: parsed.migrate, configPath: parsed.configPath)
            case .relay:
                try serve(loader.configuration, parts: [.relay], migrate: parsed.migrate, configPath: parsed.configPath)
            case .outbox:
                return try OutboxTool.run(parsed, configuration: loader.configuration)
            case .consume:
                guard !loader.configuration.consumers.enabled.isEmpty else {
                    throw DaemonError(.configuration, "CONSUMERS: none enabled; outboxd consume needs at least one of \(ConsumerConfiguration.all.joined(separator: ", "))")
                }
                try serve(loader.configuration, parts: [.consumers], migrate: parsed.migrate, configPath: parsed.configPath)
            case .help, .version:
                break
            }
            return 0
        } catch let error as DaemonError {
            Logger(label: "outboxd").error(error.description)
            return error.exitCode
        } catch {
            Logger(label: "outboxd").error("\(error)")
            return 1
        }
    }

    /// A comment line with the versions of outboxd, librdkafka and libpq, then `KEY=value  # source`
    /// per setting, secrets redacted.
    public static func checkConfigText(_ loader: ConfigurationLoader) -> String {
        var text = OutboxdVersion.comment
        for setting in loader.settings {
            let shown = Redaction.display(key: setting.key, value: setting.value, isSecret: setting.isSecret)
            text += "\(setting.key)=\(shown)  # \(setting.source)\n"
        }
        return text
    }

    static func migrate(_ configuration: Configuration) throws {
        let logger = Logger(label: "migrate")
        let migrator: Migrator
        do {
            migrator = try Migrator(directory: configuration.migrationsDirectoryInUse)
        } catch {
            throw DaemonError(.configuration, "MIGRATIONS_DIR: \(error)")
        }
        let connection = try configuration.connectOrFail()
        defer { connection.close() }
        let applied = try migrator.migrate(on: connection) {
            logger.notice("applied migration", ["version": "\($0.version)", "name": $0.name])
        }
        logger.notice(applied.isEmpty ? "schema already current" : "schema migrated", ["applied": "\(applied.count)"])
    }

    static func serve(_ configuration: Configuration, parts: Set<Daemon.Part>, migrate: Bool, configPath: String?) throws {
        try configuration.refuseEmbeddedKafkaUnderSystemd(parts: parts, environment: ProcessInfo.processInfo.environment, configPath: configPath)
        SignalWaiter.blockStopSignals()
        let stop = StopRequest()
        let daemon = Daemon(configuration: configuration, parts: parts, onFailure: { stop.request(.failure($0)) })
        try daemon.start(migrate: migrate)
        // Waits in sigwait for the process's life: never stopped, the process exits.
        WorkerThread(name: "signals") { _ in stop.request(.signal(SignalWaiter.waitForStop())) }.start(ended: { _ in })
        let reason = stop.wait()
        switch reason {
        case .signal(let name):
            Logger(label: "outboxd").notice("received \(name)")
            daemon.stop()
        case .failure(let why):
            // Exits non-zero after a clean stop, so systemd (Restart=on-failure) starts a fresh process.
            Logger(label: "outboxd").error("a part failed; stopping", ["reason": why])
            daemon.stop()
            throw DaemonError(.partFailed, why)
        }
    }
}
