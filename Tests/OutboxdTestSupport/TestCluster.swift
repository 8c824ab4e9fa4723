import Foundation

/// A private PostgreSQL cluster (started with `scripts/pg.sh`) for a test that stops and restarts
/// the server, so it does not disturb the shared test cluster.
public final class TestCluster: Sendable {
    public let directory: String
    public let url: String

    public init() throws {
        directory = TestEnvironment.scratchDirectory.appendingPathComponent("cluster-\(UUID().uuidString.prefix(8))").path
        url = try Self.script(["start", directory, "", "--fast"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Stops the server (`fast` or `immediate`).
    public func stop(mode: String = "fast") throws {
        _ = try Self.script(["stop", directory, mode])
    }

    /// Starts it again on the same port.
    public func start() throws {
        let port = try String(contentsOfFile: directory + "/port", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try Self.script(["start", directory, port, "--fast"])
    }

    deinit { _ = try? Self.script(["stop", directory, "immediate"]) }

    @discardableResult
    static func script(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = TestEnvironment.repositoryRoot.appendingPathComponent("scripts/pg.sh")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw HTTPTestError("scripts/pg.sh \(arguments.joined(separator: " ")) failed (\(process.terminationStatus))")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
