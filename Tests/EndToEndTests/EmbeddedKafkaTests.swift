import Foundation
import OutboxdTestSupport
import Testing

/// An installed daemon never publishes into the in-process mock cluster by accident: under systemd
/// (INVOCATION_ID set) the commands that start Kafka refuse `KAFKA_BOOTSTRAP_SERVERS=embedded`
/// unless `KAFKA_ALLOW_EMBEDDED=yes`. Without INVOCATION_ID `embedded` works as before (the rest of
/// the suite runs on it).
@Suite struct EmbeddedKafkaTests {
    static let invocationID = ["INVOCATION_ID": "5b0b1fb4a7bd4c6c9c1a2f6a4e8d1c3e"]

    /// With a reachable, migrated database, so that only the check can stop it.
    @Test(arguments: [["serve", "--http-listen", "127.0.0.1:0"], ["relay"], ["consume"]])
    func kafkaCommandsRefuseTheEmbeddedClusterUnderSystemd(arguments: [String]) throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let process = try DaemonProcess(arguments: arguments, environment: ["DATABASE_URL": database.url].merging(Self.invocationID) { $1 })
        #expect(try process.waitForExit(timeout: .seconds(30)) == 78)
        let output = process.output
        #expect(output.contains("KAFKA_BOOTSTRAP_SERVERS is embedded: an in-process mock cluster whose events vanish on restart"), "\(output)")
        #expect(output.contains("set KAFKA_BOOTSTRAP_SERVERS=host:port,… in /etc/outboxd/outboxd.conf, or KAFKA_ALLOW_EMBEDDED=yes to use it anyway"), "\(output)")
        #expect(!output.contains("embedded Kafka started"))
    }

    @Test func theMessageNamesTheConfigFileInUse() throws {
        let process = try DaemonProcess(arguments: ["relay", "--config", "config/outboxd.conf"], environment: Self.invocationID)
        #expect(try process.waitForExit(timeout: .seconds(30)) == 78)
        #expect(process.output.contains("KAFKA_BOOTSTRAP_SERVERS=host:port,… in config/outboxd.conf"), "\(process.output)")
    }

    @Test func kafkaAllowEmbeddedStartsItAnyway() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let process = try DaemonProcess(arguments: ["serve", "--http-listen", "127.0.0.1:0"], environment: [
            "DATABASE_URL": database.url, "KAFKA_ALLOW_EMBEDDED": "yes", "CONSUMERS": "none",
        ].merging(Self.invocationID) { $1 })
        let port = try process.showingOutputOnFailure { try process.waitForPort() }
        #expect(process.output.contains("embedded Kafka started"))
        #expect(try HTTPTestClient(port: port).json("POST", "/tasks", #"{"title":"x"}"#, headers: [("Prefer", "wait=10")]).status == 201)
        process.signal(SIGTERM)
        #expect(try process.waitForExit() == 0)
    }

    /// `outboxd api` starts no Kafka, so it has nothing to refuse.
    @Test func theAPIAloneStartsUnderSystemd() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let process = try DaemonProcess(arguments: ["api", "--http-listen", "127.0.0.1:0"],
                                        environment: ["DATABASE_URL": database.url].merging(Self.invocationID) { $1 })
        let port = try process.showingOutputOnFailure { try process.waitForPort() }
        #expect(try HTTPTestClient(port: port).json("POST", "/tasks", #"{"title":"x"}"#).status == 201)
        process.signal(SIGTERM)
        #expect(try process.waitForExit() == 0)
        #expect(!process.output.contains("embedded Kafka started"))
    }
}
