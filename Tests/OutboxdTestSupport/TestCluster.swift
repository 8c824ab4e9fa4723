import Foundation

/// A private PostgreSQL cluster (started with `scripts/pg.sh`) for a test that stops and restarts
/// the server, so it does not disturb the shared test cluster. Durable settings: an immediate
/// stop is a crash, and committed rows must survive it.
public final class TestCluster: Sendable {
    public let directory: String
    public let url: String

    public init() throws {
        directory = TestEnvironment.scratchDirectory.appendingPathComponent("cluster-\(UUID().uuidString.prefix(8))").path
        let output = try Self.script(["start", directory], settings: Self.settings)
        url = output.split(separator: "\n").last { $0.hasPrefix("postgresql://") }.map(String.init) ?? ""
    }

    /// Stops the server (`fast` or `immediate`).
    public func stop(mode: String = "fast") throws {
        _ = try Self.script(["stop", directory, mode])
    }

    /// Starts it again on the same port.
    public func start() throws {
        let port = try String(contentsOfFile: directory + "/port", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try Self.script(["start", directory, port], settings: Self.settings)
    }

    /// A TCP port on 127.0.0.1 that nothing listens on now.
    public static func freePort() throws -> Int {
        guard let port = Int(try script(["free-port"]).split(separator: "\n").last ?? "") else {
            throw HTTPTestError("scripts/pg.sh free-port printed no port")
        }
        return port
    }

    deinit { _ = try? Self.script(["stop", directory, "immediate"]) }

    /// The server settings of a private cluster: PostgreSQL's defaults, but `wal_level=logical`
    /// when the fault suite runs its relays in WAL mode (`OUTBOXD_TEST_RELAY_SOURCE=wal`).
    static var settings: String? {
        ProcessInfo.processInfo.environment["OUTBOXD_TEST_RELAY_SOURCE"] == "wal" ? "-c wal_level=logical" : nil
    }

    /// Runs `scripts/pg.sh` (with `settings` as `PG_SETTINGS`) and returns what it printed; throws when it fails.
    @discardableResult
    static func script(_ arguments: [String], settings: String? = nil) throws -> String {
        var environment = ProcessInfo.processInfo.environment
        if let settings { environment["PG_SETTINGS"] = settings }
        let child = try ChildProcess(executable: TestEnvironment.repositoryRoot.appendingPathComponent("scripts/pg.sh").path,
                                     arguments: arguments, environment: environment)
        let code = child.waitForExit()
        let output = child.output
        guard code == 0 else {
            throw HTTPTestError("scripts/pg.sh \(arguments.joined(separator: " ")) failed (\(code)): \(output)")
        }
        return output
    }
}
