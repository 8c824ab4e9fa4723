import Foundation
import Glibc
import OutboxdKafka
import OutboxdPostgres
import OutboxdTestSupport
import Testing

/// The binary's commands: exit codes and messages that operators and scripts rely on.
@Suite struct CommandTests {
    /// The test process's LD_LIBRARY_PATH, if any, so the binary loads the C libraries this process did.
    static let libraryPath = ProcessInfo.processInfo.environment["LD_LIBRARY_PATH"].map { ["LD_LIBRARY_PATH": $0] } ?? [:]

    @Test func checkConfigPrintsEffectiveValuesWithSecretsRedacted() throws {
        let process = try DaemonProcess(
            arguments: ["check-config", "--config", "config/outboxd.conf", "--http-listen", "0.0.0.0:9999"],
            environment: ["DATABASE_URL": "postgresql://app:topsecret@db/tasks", "KAFKA_SASL_PASSWORD": "pw123"].merging(Self.libraryPath) { $1 })
        #expect(try process.waitForExit() == 0)
        let output = process.output
        #expect(output.hasPrefix("# outboxd "), "\(output)")
        #expect(output.split(separator: "\n").first?.hasSuffix(", librdkafka \(RDKafkaLibrary.version), libpq \(PQLibrary.version)") == true, "\(output)")
        #expect(output.contains("DATABASE_URL=postgresql://app:***@db/tasks  # environment"))
        #expect(output.contains("HTTP_LISTEN=0.0.0.0:9999  # flag"))
        // The shipped file keeps every default commented out, so the values not given come from the defaults.
        #expect(output.contains("HTTP_MAX_BODY_BYTES=65536  # default"))
        #expect(output.contains("MIGRATIONS_DIR=migrations  # default"))
        #expect(!output.contains("# config/outboxd.conf:"), "\(output)")
        #expect(output.contains("KAFKA_SASL_PASSWORD=***"))
        #expect(!output.contains("topsecret"))
        #expect(!output.contains("pw123"))
    }

    @Test func checkConfigNamesTheFileLineOfAValueSetThere() throws {
        let file = TestEnvironment.scratchDirectory.appendingPathComponent("set-\(UUID()).conf")
        try "# a comment\nHTTP_MAX_BODY_BYTES=1000\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = try DaemonProcess(arguments: ["check-config", "--config", file.path])
        #expect(try process.waitForExit() == 0)
        #expect(process.output.contains("HTTP_MAX_BODY_BYTES=1000  # \(file.path):2"), "\(process.output)")
    }

    /// The C libraries' lines are what this test process's librdkafka and libpq report (the ones
    /// loaded at run time; LD_LIBRARY_PATH is passed on, so a newer librdkafka shows in both).
    @Test(arguments: [["--version"], ["version"]])
    func versionNamesOutboxdAndTheCLibraries(arguments: [String]) throws {
        let process = try DaemonProcess(arguments: arguments, environment: Self.libraryPath)
        #expect(try process.waitForExit() == 0)
        let lines = process.output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.count == 4 && lines[3].isEmpty, "\(process.output)")
        let outboxd = try #require(lines.first)
        #expect(outboxd.hasPrefix("outboxd ") && outboxd.dropFirst(8).split(separator: ".").map { Int($0) != nil } == [true, true, true], "\(outboxd)")
        #expect(lines.dropFirst().first == "librdkafka \(RDKafkaLibrary.version)")
        #expect(lines.dropFirst(2).first == "libpq \(PQLibrary.version)")
    }

    /// DATABASE_URL_FILE and API_TOKENS_FILE (here as systemd credentials): the daemon serves with
    /// them while neither secret is in its environment (/proc/<pid>/environ); a group-readable
    /// secret file stops start-up (78) naming the key and the path.
    @Test func secretsFromFilesStayOutOfTheEnvironment() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let credentials = TestEnvironment.scratchDirectory.appendingPathComponent("credentials-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: credentials, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: credentials) }
        let token = "file-token-\(UUID().uuidString)"
        for (name, text) in [("database-url", database.url + "\n"), ("api-tokens", token + "\n")] {
            let path = credentials.appendingPathComponent(name).path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o600)
        }
        let daemon = try DaemonProcess(arguments: ["api", "--http-listen", "127.0.0.1:0"], environment: [
            "CREDENTIALS_DIRECTORY": credentials.path, "DATABASE_URL_FILE": "database-url", "API_TOKENS_FILE": "api-tokens",
        ].merging(Self.libraryPath) { $1 })
        let client = try HTTPTestClient(port: try daemon.waitForPort())
        try daemon.showingOutputOnFailure {
            #expect(try client.json("POST", "/tasks", #"{"title":"x"}"#).status == 401)
            #expect(try client.json("POST", "/tasks", #"{"title":"x"}"#, headers: [("Authorization", "Bearer \(token)")]).status == 201)
            #expect(try database.count("tasks") == 1)
            let environ = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(daemon.child.pid)/environ"))
            let text = String(decoding: environ, as: UTF8.self)
            #expect(text.contains("DATABASE_URL_FILE=database-url"))
            #expect(!text.contains(database.url) && !text.contains(token))
            #expect(!daemon.output.contains(token))
        }
        daemon.signal(SIGTERM)
        #expect(try daemon.waitForExit() == 0)

        let readable = credentials.appendingPathComponent("database-url").path
        chmod(readable, 0o640)
        let refused = try DaemonProcess(arguments: ["api", "--http-listen", "127.0.0.1:0"], environment: [
            "CREDENTIALS_DIRECTORY": credentials.path, "DATABASE_URL_FILE": "database-url",
        ].merging(Self.libraryPath) { $1 })
        #expect(try refused.waitForExit() == 78)
        #expect(refused.output.contains("DATABASE_URL_FILE: \(readable) holds a secret and is readable by its group or other users"), "\(refused.output)")
        #expect(!refused.output.contains(database.url))
    }

    @Test func invalidValueStopsStartUpNamingTheKey() throws {
        let process = try DaemonProcess(arguments: ["serve", "--http-max-body-bytes", "-5"])
        #expect(try process.waitForExit() == 78)
        #expect(process.output.contains("HTTP_MAX_BODY_BYTES"))
        #expect(process.output.contains("is not a whole number"))
    }

    /// Issue #28 item 6: `check-config` runs the check every command runs, so each of these
    /// settings makes it and every command exit 78 (no restart mends them: the units'
    /// RestartPreventExitStatus=78) naming the key, before anything connects (the database
    /// address is closed: getting that far would exit 69), echoing no secret and little of a
    /// huge value or key.
    @Test(arguments: ["linger", "unknownProperty", "foreignAddress", "hugeSource", "hugeKey", "nul"])
    func everyCommandRefusesWhatCheckConfigRefusesWith78(setting: String) throws {
        let huge = String(repeating: "X", count: 1 << 20)
        let (line, message): (String, String) = switch setting {
        case "linger": ("KAFKA_LINGER_MS=abc", "KAFKA_LINGER_MS: librdkafka's producer refuses linger.ms")
        case "unknownProperty": ("KAFKA_NO_SUCH_PROPERTY=1", "KAFKA_NO_SUCH_PROPERTY: librdkafka's producer refuses no.such.property")
        case "foreignAddress": ("HTTP_LISTEN=192.0.2.1:0", "HTTP_LISTEN: 192.0.2.1 is not an address of this machine")
        case "hugeSource": ("EVENT_SOURCE=" + huge, "EVENT_SOURCE: is 1048576 bytes; at most 4096")
        case "hugeKey": ("HTTP_" + huge + "=1", "HTTP_XXXXXXXX")
        default: ("OUTBOX_TOPIC=events\u{0}more", "OUTBOX_TOPIC: holds a NUL character (")
        }
        let file = TestEnvironment.scratchDirectory.appendingPathComponent("bad-\(setting)-\(UUID().uuidString.prefix(8)).conf")
        try "DATABASE_URL=postgresql://app:s3cret-pw@127.0.0.1:1/x\n\(line)\n".write(to: file, atomically: true, encoding: .utf8)
        chmod(file.path, 0o600)
        defer { try? FileManager.default.removeItem(at: file) }
        for command in ["check-config", "serve", "api", "relay", "consume", "migrate"] {
            let process = try DaemonProcess(arguments: [command, "--config", file.path], environment: Self.libraryPath)
            let start = ContinuousClock.now
            #expect(try process.waitForExit(timeout: .seconds(30)) == 78, "\(command): \(process.output.prefix(2000))")
            #expect(ContinuousClock.now - start < .seconds(10), "\(command) took \(ContinuousClock.now - start)")
            let output = process.output
            #expect(output.contains(message), "\(command): \(output.prefix(2000))")
            #expect(!output.contains("s3cret-pw"))
            #expect(output.utf8.count < 2000, "\(command) printed \(output.utf8.count) bytes")
        }
    }

    /// Issue #28 item 5: a password with a malformed % escape, a "/" or an "@", or a `PASSWORD`
    /// parameter libpq does not take, is refused (78) by check-config and migrate without the
    /// password or a piece of it; one libpq takes (`pass%77ord=`) is masked by check-config.
    @Test(arguments: [
        "postgresql://app:pw%zzs3cret@127.0.0.1:1/x", "postgresql://app:pw/s3cret@127.0.0.1:1/x",
        "postgresql://app:pw@s3cret@127.0.0.1:1/x", "postgresql://127.0.0.1:1/x?PASSWORD=pws3cret",
    ])
    func aMalformedDatabaseURLIsRefusedWithoutItsPassword(url: String) throws {
        for command in ["check-config", "migrate"] {
            let process = try DaemonProcess(arguments: [command], environment: ["DATABASE_URL": url].merging(Self.libraryPath) { $1 })
            #expect(try process.waitForExit(timeout: .seconds(30)) == 78, "\(command): \(process.output)")
            #expect(process.output.contains("DATABASE_URL: "), "\(command): \(process.output)")
            #expect(!process.output.contains("s3cret") && !process.output.contains("zz"), "\(command): \(process.output)")
        }
        let masked = try DaemonProcess(arguments: ["check-config"], environment: ["DATABASE_URL": "postgresql://127.0.0.1:1/x?pass%77ord=s3cret"])
        #expect(try masked.waitForExit() == 0, "\(masked.output)")
        #expect(masked.output.contains("DATABASE_URL=postgresql://127.0.0.1:1/x?pass%77ord=***  # environment"), "\(masked.output)")
        #expect(!masked.output.contains("s3cret"))
    }

    @Test func unknownCommandIsAUsageError() throws {
        let process = try DaemonProcess(arguments: ["launch"])
        #expect(try process.waitForExit() == 64)
        #expect(process.output.contains("unknown command"))
    }

    @Test func helpListsTheCommands() throws {
        let process = try DaemonProcess(arguments: ["--help"])
        #expect(try process.waitForExit() == 0)
        #expect(process.output.contains("check-config"))
        #expect(process.output.contains("--migrate"))
    }

    @Test func serveFailsFastWhenTheDatabaseIsUnreachable() throws {
        let port = try TestCluster.freePort()
        let process = try DaemonProcess(arguments: ["serve", "--http-listen", "127.0.0.1:0"],
                                        environment: ["DATABASE_URL": "postgresql://u:hidden@127.0.0.1:\(port)/x"])
        #expect(try process.waitForExit(timeout: .seconds(30)) == 69)
        #expect(process.output.contains("cannot connect to PostgreSQL"))
        #expect(process.output.contains("127.0.0.1:\(port)"))
        #expect(!process.output.contains("hidden"))
    }

    /// libpq honours `sslmode` in DATABASE_URL: the test cluster has no TLS, so `require` refuses it.
    @Test func sslModeInTheDatabaseURLIsHonoured() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let url = database.url + (database.url.contains("?") ? "&" : "?") + "sslmode=require"
        let process = try DaemonProcess(arguments: ["migrate"], environment: ["DATABASE_URL": url])
        #expect(try process.waitForExit(timeout: .seconds(30)) == 69)
        #expect(process.output.contains("SSL"), "\(process.output)")
    }

    @Test func serveRefusesAnOutdatedSchemaAndMigratesWhenAsked() throws {
        let database = try TestDatabase.createEmpty()
        defer { database.drop() }
        let url = database.url
        let refused = try DaemonProcess(arguments: ["serve", "--http-listen", "127.0.0.1:0"], environment: ["DATABASE_URL": url])
        #expect(try refused.waitForExit() == 78)
        #expect(refused.output.contains("outboxd migrate"))
        #expect(refused.output.contains("pending migration"))

        let migrate = try DaemonProcess(arguments: ["migrate"], environment: ["DATABASE_URL": url])
        #expect(try migrate.waitForExit() == 0)
        #expect(migrate.output.contains("schema migrated"))
        let again = try DaemonProcess(arguments: ["migrate"], environment: ["DATABASE_URL": url])
        #expect(try again.waitForExit() == 0)
        #expect(again.output.contains("schema already current"))

        let serve = try DaemonProcess(arguments: ["serve", "--http-listen", "127.0.0.1:0"], environment: ["DATABASE_URL": url])
        let port = try serve.waitForPort()
        let created = try HTTPTestClient(port: port).json("POST", "/tasks", #"{"title":"x"}"#)
        #expect(created.status == 201)
        serve.signal(SIGTERM)
        #expect(try serve.waitForExit() == 0)
    }

    @Test(arguments: [
        (["serve", "--help"], "usage: outboxd serve [--migrate]"),
        (["relay", "--help"], "--metrics-listen HOST:PORT"),
        (["consume", "--help"], "--only LIST"),
        (["help", "outbox"], "replay --from T --to T [--no-wait]"),
        (["outbox", "--help"], "3 (status) parked events exist"),
        (["migrate", "--help"], "usage: outboxd migrate"),
        (["help", "check-config"], "secrets show as ***"),
    ])
    func eachCommandExplainsItself(arguments: [String], mentions: String) throws {
        let process = try DaemonProcess(arguments: arguments)
        #expect(try process.waitForExit() == 0)
        #expect(process.output.contains(mentions), "\(process.output)")
        #expect(process.output.contains("--config FILE"))
    }

    @Test func versionExplainsItself() throws {
        let process = try DaemonProcess(arguments: ["help", "version"])
        #expect(try process.waitForExit() == 0)
        #expect(process.output.contains("usage: outboxd version (or outboxd --version)"), "\(process.output)")
        let usage = try DaemonProcess(arguments: ["--help"])
        #expect(try usage.waitForExit() == 0)
        #expect(usage.output.contains("version        print the versions of outboxd, librdkafka and libpq"))
    }

    @Test func helpForAnUnknownCommandIsAUsageError() throws {
        let process = try DaemonProcess(arguments: ["help", "serv"])
        #expect(try process.waitForExit() == 64)
        #expect(process.output.contains("unknown command \"serv\""))
    }
}
