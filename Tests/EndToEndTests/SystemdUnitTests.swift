import Foundation
import OutboxdTestSupport
import Testing

/// The shipped unit files and the install script.
@Suite struct SystemdUnitTests {
    static let units = ["outboxd.service", "outboxd-api.service", "outboxd-relay.service", "outboxd-consume.service"]

    func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let child = try ChildProcess(executable: executable, arguments: arguments,
                                     environment: ProcessInfo.processInfo.environment.merging(environment) { $1 })
        let status = child.waitForExit()
        return (status, child.output)
    }

    /// Each unit is Type=notify with a watchdog, restarts on failure, stops after the daemon's own
    /// deadline, runs as its own user with the usual hardening, and `systemd-analyze verify`
    /// accepts it without a warning (run against the built binary; skipped where systemd-analyze is missing).
    @Test(arguments: units)
    func unitIsValid(unit: String) throws {
        let text = try String(contentsOfFile: TestEnvironment.repositoryRoot.appendingPathComponent("config/\(unit)").path, encoding: .utf8)
        for line in ["Type=notify", "NotifyAccess=main", "EnvironmentFile=/etc/outboxd/outboxd.conf", "Restart=on-failure",
                     "User=outboxd", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes"] {
            #expect(text.contains("\n" + line + "\n"), "\(unit) lacks \(line)")
        }
        let stop = try #require(text.split(separator: "\n").first { $0.hasPrefix("TimeoutStopSec=") })
        #expect(Int(stop.dropFirst("TimeoutStopSec=".count).dropLast()) ?? 0 > 20, "TimeoutStopSec must exceed SHUTDOWN_TIMEOUT (20s)")
        #expect(text.contains("WatchdogSec="))

        let analyzer = "/usr/bin/systemd-analyze"
        guard FileManager.default.isExecutableFile(atPath: analyzer) else { return }
        let copy = TestEnvironment.scratchDirectory.appendingPathComponent(unit).path
        try text.replacingOccurrences(of: "/usr/local/bin/outboxd", with: TestEnvironment.binaryPath).write(toFile: copy, atomically: true, encoding: .utf8)
        let result = try run(analyzer, ["verify", copy])
        #expect(result.status == 0)
        #expect(result.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(result.output)")
    }

    /// Each unit is hardened as far as a daemon that reaches PostgreSQL and Kafka anywhere allows:
    /// `systemd-analyze security --offline=true` rates its overall exposure at most 1.5 (3.2 before
    /// the system call filter, private users and /proc settings), and no IPAddressDeny= cuts it off
    /// from its brokers and database (skipped where systemd-analyze is missing).
    @Test(arguments: units)
    func unitExposureIsAtMostOnePointFive(unit: String) throws {
        let text = try String(contentsOfFile: TestEnvironment.repositoryRoot.appendingPathComponent("config/\(unit)").path, encoding: .utf8)
        for line in ["SystemCallFilter=@system-service", "SystemCallFilter=~@privileged @resources", "SystemCallErrorNumber=EPERM",
                     "PrivateUsers=yes", "ProtectProc=invisible", "ProcSubset=pid", "UMask=0077", "CapabilityBoundingSet=",
                     "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"] {
            #expect(text.contains("\n" + line + "\n"), "\(unit) lacks \(line)")
        }
        #expect(!text.split(separator: "\n").contains { $0.hasPrefix("IPAddressDeny=") }, "\(unit) must reach PostgreSQL and Kafka anywhere")

        let analyzer = "/usr/bin/systemd-analyze"
        guard FileManager.default.isExecutableFile(atPath: analyzer) else { return }
        let copy = TestEnvironment.scratchDirectory.appendingPathComponent("security-\(UUID().uuidString.prefix(8))-\(unit)").path
        try text.replacingOccurrences(of: "/usr/local/bin/outboxd", with: TestEnvironment.binaryPath).write(toFile: copy, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        let result = try run(analyzer, ["security", "--offline=true", copy])
        #expect(result.status == 0, "\(result.output)")
        let marker = "Overall exposure level for "
        let line = try #require(result.output.split(separator: "\n").first { $0.contains(marker) }, "\(result.output)")
        let score = try #require(line.split(separator: ": ").last?.split(separator: " ").first.flatMap { Double($0) }, "\(line)")
        #expect(score <= 1.5, "\(unit): \(line)\n\(result.output)")
    }

    /// `DESTDIR=… scripts/install.sh` stages the binary, migrations, units and a config readable by
    /// its owner and group only, and does not overwrite an existing config.
    @Test func installScriptStagesEverything() throws {
        let stage = TestEnvironment.scratchDirectory.appendingPathComponent("stage-\(UUID().uuidString.prefix(8))").path
        let script = TestEnvironment.repositoryRoot.appendingPathComponent("scripts/install.sh").path
        let binary = TestEnvironment.repositoryRoot.appendingPathComponent(".build/release/outboxd").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            let result = try run(script, [], environment: ["DESTDIR": stage])
            #expect(result.status == 1)
            #expect(result.output.contains("make build"), "\(result.output)")
            return
        }
        #expect(try run(script, [], environment: ["DESTDIR": stage]).status == 0)
        let files = FileManager.default
        #expect(files.isExecutableFile(atPath: stage + "/usr/local/bin/outboxd"))
        for unit in Self.units { #expect(files.fileExists(atPath: stage + "/etc/systemd/system/" + unit)) }
        #expect(files.fileExists(atPath: stage + "/usr/local/share/doc/outboxd/outboxd-alerts.yml"))
        #expect(files.fileExists(atPath: stage + "/usr/local/share/doc/outboxd/outboxd-dashboard.json"))
        let migrations = try files.contentsOfDirectory(atPath: stage + "/usr/local/share/outboxd/migrations")
        #expect(migrations.sorted() == (try files.contentsOfDirectory(atPath: TestEnvironment.migrationsDirectory)).sorted())
        let config = stage + "/etc/outboxd/outboxd.conf"
        let mode = try #require(try files.attributesOfItem(atPath: config)[.posixPermissions] as? Int)
        #expect(mode == 0o640)
        try "DATABASE_URL=postgresql://kept\n".write(toFile: config, atomically: true, encoding: .utf8)
        #expect(try run(script, [], environment: ["DESTDIR": stage]).status == 0)
        #expect(try String(contentsOfFile: config, encoding: .utf8) == "DATABASE_URL=postgresql://kept\n")
    }

    /// The package (`OUTBOXD_TEST_DEB`, built by scripts/test.sh; skipped without it) holds the units
    /// and the config of `config/` with its own paths (/usr instead of /usr/local), each unit
    /// accepted by `systemd-analyze verify`, and the stripped binary with the package's version.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["OUTBOXD_TEST_DEB"] != nil, "needs OUTBOXD_TEST_DEB=$(scripts/deb.sh)"))
    func packageHoldsTheUnitsWithItsPaths() throws {
        let deb = try #require(ProcessInfo.processInfo.environment["OUTBOXD_TEST_DEB"])
        let root = TestEnvironment.scratchDirectory.appendingPathComponent("deb-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(try run("/usr/bin/dpkg-deb", ["-x", deb, root]).status == 0)
        let packaged = { (path: String) in try String(contentsOfFile: root + path, encoding: .utf8) }
        let shipped = { (path: String) in
            try String(contentsOfFile: TestEnvironment.repositoryRoot.appendingPathComponent(path).path, encoding: .utf8)
                .replacingOccurrences(of: "/usr/local/", with: "/usr/")
        }
        #expect(try packaged("/etc/outboxd/outboxd.conf") == (try shipped("config/outboxd.conf")))
        for unit in Self.units {
            let text = try packaged("/lib/systemd/system/" + unit)
            #expect(text == (try shipped("config/" + unit)))
            #expect(text.contains("\nExecStart=/usr/bin/outboxd ") && text.contains("\nEnvironment=MIGRATIONS_DIR=/usr/share/outboxd/migrations\n"))
            let analyzer = "/usr/bin/systemd-analyze"
            guard FileManager.default.isExecutableFile(atPath: analyzer) else { continue }
            let copy = root + "/" + unit
            try text.replacingOccurrences(of: "/usr/bin/outboxd", with: root + "/usr/bin/outboxd").write(toFile: copy, atomically: true, encoding: .utf8)
            let result = try run(analyzer, ["verify", copy])
            #expect(result.status == 0 && result.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(unit): \(result.output)")
        }
        let version = try run("/usr/bin/dpkg-deb", ["-f", deb, "Version"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        let printed = try run(root + "/usr/bin/outboxd", ["--version"])
        #expect(printed.output.hasPrefix("outboxd \(version)\n"), "\(printed.output)")
        #expect(try run("/usr/bin/readelf", ["--sections", root + "/usr/bin/outboxd"]).output.contains(".symtab") == false, "stripped")
    }
}
