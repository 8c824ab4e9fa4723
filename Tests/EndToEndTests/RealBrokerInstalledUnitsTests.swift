import Foundation
import OutboxdKafka
import OutboxdTestSupport
import Testing

/// The installed system as systemd runs it (README "Installing it"), on a host without the Swift
/// toolchain, without booting systemd: the package (`make deb`, named by `OUTBOXD_TEST_DEB`) is
/// unpacked into a scratch root with `dpkg-deb -x`, the user and the config's group are set as its
/// postinst sets them, and each unit's `ExecStart` runs verbatim (paths moved into the root) the way
/// systemd.exec(5) composes it: working directory `/`, user `outboxd`, the unit's `Environment=`
/// overridden by its `EnvironmentFile=`, `INVOCATION_ID` and a `NOTIFY_SOCKET`; each in a mount
/// namespace of its own where the toolchain's folder is an empty tmpfs. Against the real-broker
/// tier's Tansu, since the split units must share one cluster. scripts/test-deb.sh installs the
/// same package with dpkg.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["OUTBOXD_TEST_KAFKA"] != nil
                                 && ProcessInfo.processInfo.environment["OUTBOXD_TEST_DEB"] != nil && getuid() == 0,
                             "needs the real-broker tier (scripts/test-real-broker.sh), the package (OUTBOXD_TEST_DEB=$(scripts/deb.sh), which scripts/test.sh sets) and root (to run as user outboxd and to mount)"))
struct RealBrokerInstalledUnitsTests {
    /// The package's files in a scratch root, its config as the operator edits it, and units run from it.
    final class Stage {
        let root: String
        /// The package's version (`dpkg-deb -f … Version`).
        let version: String
        let topic = "installed-\(UUID().uuidString.prefix(8).lowercased())"
        let database: TestDatabase
        let httpPort: Int
        /// What a drop-in (`/etc/systemd/system/<unit>.d/*.conf`) adds: librdkafka 2.16.1 for Tansu.
        let dropIn: [String: String]

        init() throws {
            let deb = try #require(ProcessInfo.processInfo.environment["OUTBOXD_TEST_DEB"])
            root = TestEnvironment.scratchDirectory.appendingPathComponent("installed-\(UUID().uuidString.prefix(8))").path
            let unpack = try ChildProcess(executable: "/usr/bin/dpkg-deb", arguments: ["-x", deb, root], environment: ["PATH": "/usr/bin:/bin"])
            guard unpack.waitForExit() == 0 else { throw HTTPTestError("dpkg-deb -x \(deb) failed: \(unpack.output)") }
            let field = try ChildProcess(executable: "/usr/bin/dpkg-deb", arguments: ["-f", deb, "Version"], environment: ["PATH": "/usr/bin:/bin"])
            guard field.waitForExit() == 0 else { throw HTTPTestError("dpkg-deb -f \(deb) failed: \(field.output)") }
            version = field.output.trimmingCharacters(in: .whitespacesAndNewlines)
            if try Self.run("/usr/bin/id", ["outboxd"]) != 0 {
                // What the package's postinst does (adduser --system), with the tool the host surely has.
                guard try Self.run("/usr/sbin/useradd", ["--system", "--no-create-home", "--home-dir", "/nonexistent",
                                                         "--shell", "/usr/sbin/nologin", "outboxd"]) == 0 else {
                    throw HTTPTestError("cannot create the user outboxd")
                }
            }
            guard try Self.run("/usr/bin/chgrp", ["outboxd", root + "/etc/outboxd/outboxd.conf"]) == 0 else { throw HTTPTestError("chgrp failed") }
            database = try TestDatabase.createEmpty()
            httpPort = try TestCluster.freePort()
            dropIn = ProcessInfo.processInfo.environment.filter { $0.key == "LD_LIBRARY_PATH" }
        }

        deinit { database.drop() }

        var config: String { root + "/etc/outboxd/outboxd.conf" }

        /// Appends settings to the staged config, as an operator edits /etc/outboxd/outboxd.conf.
        func configure(_ settings: [(String, String)]) throws {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: config))
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(settings.map { "\($0.0)=\($0.1)\n" }.joined().utf8))
        }

        /// The unit file's `Key=` values, in order.
        func unitValues(_ unit: String, _ key: String) throws -> [String] {
            let text = try String(contentsOfFile: root + "/lib/systemd/system/" + unit, encoding: .utf8)
            return text.split(separator: "\n").compactMap { line in
                line.hasPrefix(key + "=") ? String(line.dropFirst(key.count + 1)) : nil
            }
        }

        /// Installed paths moved into the stage.
        func staged(_ text: String) -> String {
            text.replacingOccurrences(of: "/usr/bin/outboxd", with: root + "/usr/bin/outboxd")
                .replacingOccurrences(of: "/usr/share/outboxd", with: root + "/usr/share/outboxd")
                .replacingOccurrences(of: "/etc/outboxd/", with: root + "/etc/outboxd/")
        }

        /// systemd.exec(5): the manager's variables, then `Environment=`, then `EnvironmentFile=`
        /// (which overrides), then what the manager sets for this invocation.
        func environment(of unit: String, notifySocket: String) throws -> [String: String] {
            var environment = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin", "LANG": "C.UTF-8",
                               "USER": "outboxd", "LOGNAME": "outboxd", "HOME": "/nonexistent", "SHELL": "/usr/sbin/nologin"]
            for assignment in try unitValues(unit, "Environment") {
                let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
                environment[parts[0]] = staged(parts[1])
            }
            environment.merge(dropIn) { $1 }
            for file in try unitValues(unit, "EnvironmentFile") {
                for line in try String(contentsOfFile: staged(file), encoding: .utf8).split(separator: "\n") {
                    let text = line.trimmingCharacters(in: .whitespaces)
                    guard !text.isEmpty, !text.hasPrefix("#"), !text.hasPrefix(";"), let equals = text.firstIndex(of: "=") else { continue }
                    environment[String(text[..<equals])] = String(text[text.index(after: equals)...])
                }
            }
            environment["INVOCATION_ID"] = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
            environment["NOTIFY_SOCKET"] = notifySocket
            return environment
        }

        /// Starts `unit`'s ExecStart as systemd would; returns the process and its notify socket.
        func start(_ unit: String) throws -> (process: ChildProcess, notify: NotifySocket) {
            let notify = try NotifySocket()
            chmod(notify.path, 0o666)
            let command = try #require(try unitValues(unit, "ExecStart").first).split(separator: " ").map { staged(String($0)) }
            #expect(try unitValues(unit, "User") == ["outboxd"])
            let process = try ChildProcess(executable: "/usr/bin/unshare", arguments: try Self.withoutToolchain + Self.asOutboxdFromRoot + command,
                                           environment: try environment(of: unit, notifySocket: notify.path))
            return (process, notify)
        }

        /// `outboxd <arguments>` as the operator runs it by hand: as outboxd, from `/`.
        func command(_ arguments: [String], binary: String? = nil) throws -> ChildProcess {
            try ChildProcess(executable: "/usr/bin/unshare",
                             arguments: try Self.withoutToolchain + Self.asOutboxdFromRoot + [binary ?? root + "/usr/bin/outboxd"] + arguments,
                             environment: ["PATH": "/usr/bin:/bin"].merging(dropIn) { $1 })
        }

        /// `unshare --mount … sh -c 'mount -t tmpfs … "$0" && exec "$@"' <toolchain> /usr/bin/env`: the
        /// rest runs in a mount namespace of its own where the Swift toolchain's folder is empty.
        static var withoutToolchain: [String] {
            get throws {
                let toolchain = try #require(TestEnvironment.swiftToolchainDirectory, "no libswiftCore.so mapped into the test process")
                return ["--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                        #"mount -t tmpfs -o mode=0755,size=64k no-swift-toolchain "$0" && exec "$@""#, toolchain, "/usr/bin/env"]
            }
        }

        /// `env -C / setpriv …`: working directory `/`, the user and group outboxd, no other groups.
        static let asOutboxdFromRoot = ["-C", "/", "/usr/bin/setpriv", "--reuid=outboxd", "--regid=outboxd", "--clear-groups", "--"]

        static func run(_ executable: String, _ arguments: [String]) throws -> Int32 {
            try ChildProcess(executable: executable, arguments: arguments, environment: ["PATH": "/usr/bin:/bin:/usr/sbin"]).waitForExit()
        }
    }

    /// READY=1 within `timeout`, or a failure naming what the process printed.
    func waitForReady(_ unit: (process: ChildProcess, notify: NotifySocket), _ name: String) throws {
        guard unit.notify.receive(until: { $0.contains("READY=1") }, timeout: .seconds(60)) != nil else {
            throw HTTPTestError("\(name) sent no READY=1 (exit \(unit.process.exitCode.map(String.init) ?? "none")):\n\(unit.process.output.suffix(3000))")
        }
    }

    func stop(_ unit: (process: ChildProcess, notify: NotifySocket), _ name: String) throws {
        unit.process.signal(SIGTERM)
        #expect(unit.notify.receive(until: { $0 == "STOPPING=1" }, timeout: .seconds(30)) != nil, "\(name) sent no STOPPING=1")
        let code = unit.process.waitForExit()
        #expect(code == 0, "\(name) exited \(code):\n\(unit.process.output.suffix(3000))")
    }

    /// Every event id on `topic`, read by a consumer group of its own.
    func eventIDs(on topic: String, count: Int) throws -> Set<String> {
        let consumer = try RDKafkaConsumer(configuration: KafkaClientConfiguration(
            bootstrapServers: ProcessInfo.processInfo.environment["OUTBOXD_TEST_KAFKA"]!, properties: [("session.timeout.ms", "6000", "test")]),
            groupID: "installed-\(UUID())", topics: [topic])
        defer { consumer.close() }
        return Set(try consumer.read(count: count, timeout: .seconds(60)).compactMap { $0.header("ce_id") })
    }

    @Test func theFourUnitsRunAsInstalled() throws {
        let stage = try Stage()
        try stage.configure([("DATABASE_URL", stage.database.url)])

        // Where the toolchain is hidden, a binary linked to it does not start (the debug build), and
        // the package's does, with the package's version.
        let linked = try stage.command(["--version"], binary: TestEnvironment.binaryPath)
        #expect(linked.waitForExit() == 127)
        #expect(linked.output.contains("error while loading shared libraries: libswift"), "\(linked.output)")
        let version = try stage.command(["--version"])
        #expect(version.waitForExit() == 0)
        #expect(version.output.split(separator: "\n").first.map(String.init) == "outboxd \(stage.version)", "\(version.output)")

        // The shipped config sets no broker: the installed daemon refuses the in-process cluster.
        let refused = try stage.start("outboxd.service")
        #expect(refused.process.waitForExit() == 78)
        #expect(refused.process.output.contains("KAFKA_BOOTSTRAP_SERVERS") && refused.process.output.contains("KAFKA_ALLOW_EMBEDDED"),
                "\(refused.process.output.suffix(2000))")

        // The operator's walk-through: broker and listener in the config, then migrate from anywhere.
        try stage.configure([("KAFKA_BOOTSTRAP_SERVERS", ProcessInfo.processInfo.environment["OUTBOXD_TEST_KAFKA"]!),
                             ("OUTBOX_TOPIC", stage.topic), ("CONSUMER_GROUP_PREFIX", stage.topic + "-"),
                             ("HTTP_LISTEN", "127.0.0.1:\(stage.httpPort)"), ("KAFKA_SESSION_TIMEOUT_MS", "6000")])
        let migrate = try stage.command(["migrate", "--config", stage.config])
        #expect(migrate.waitForExit() == 0, "\(migrate.output)")

        // The split units together: api, relay, consume.
        let api = try stage.start("outboxd-api.service")
        let relay = try stage.start("outboxd-relay.service")
        let consume = try stage.start("outboxd-consume.service")
        try waitForReady(relay, "outboxd-relay")
        try waitForReady(consume, "outboxd-consume")
        try waitForReady(api, "outboxd-api")
        let client = try HTTPTestClient(port: stage.httpPort)
        let created = try client.json("POST", "/tasks", #"{"title":"installed","due_at":"2099-01-01T09:00:00Z"}"#)
        #expect(created.status == 201)
        let taskID = try #require(try created.json().objectValue?["id"]?.stringValue)
        let connection = try stage.database.connect()
        try waitUntil("the event is published and applied by the consume unit", timeout: .seconds(60)) {
            try stage.database.count("outbox", where: "published_at IS NOT NULL") == 1
                && stage.database.count("audit_log", where: "task_id = $1::uuid", [taskID]) == 1
        }
        let eventID = try #require(try connection.query("SELECT event_id::text AS id FROM outbox").first).require(String.self, "id")
        #expect(try eventIDs(on: stage.topic, count: 1) == [eventID])
        try stop(api, "outboxd-api")
        try stop(relay, "outboxd-relay")
        try stop(consume, "outboxd-consume")

        // outboxd.service alone: API, relay and consumers in one process.
        let serve = try stage.start("outboxd.service")
        try waitForReady(serve, "outboxd")
        let waited = try HTTPTestClient(port: stage.httpPort).json("POST", "/tasks", #"{"title":"installed serve"}"#, headers: [("Prefer", "wait=20")])
        #expect(waited.status == 201, "\(waited.text)")
        #expect(try waited.json().objectValue?["event"]?.objectValue?["offset"]?.intValue != nil, "the event's delivery report is in the answer")
        try waitUntil("serve's audit consumer applies both events", timeout: .seconds(60)) {
            try stage.database.count("audit_log") == 2
        }
        #expect(try eventIDs(on: stage.topic, count: 2).count == 2)
        try stop(serve, "outboxd")
    }
}
