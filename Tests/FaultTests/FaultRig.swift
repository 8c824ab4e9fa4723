import Foundation
import OutboxdKafka
import OutboxdPostgres
import OutboxdTestSupport

/// What a fault scenario runs against: a database, a Kafka mock cluster owned by the test process
/// (so the test can take its brokers down or slow them), and `outboxd` processes pointed at both.
final class FaultRig {
    static let topic = "task-events"
    /// librdkafka's mock cluster keeps 5 MB per partition and drops older records; 16 partitions
    /// hold every event of the long scenarios (`FaultCounts` checks that nothing was dropped).
    static let partitions = 16

    let databaseURL: String
    let kafka: RDKafkaMockCluster
    private let database: TestDatabase?

    /// A rig on a database of its own in the shared test cluster.
    convenience init() throws {
        try self.init(database: try TestDatabase.create())
    }

    /// A rig on `url` (a private cluster the scenario restarts), migrated by `outboxd migrate`.
    convenience init(migrating url: String) throws {
        let migrate = try DaemonProcess(arguments: ["migrate"], environment: ["DATABASE_URL": url])
        guard try migrate.waitForExit() == 0 else { throw HTTPTestError("outboxd migrate failed:\n\(migrate.output)") }
        try self.init(url: url, database: nil)
    }

    private convenience init(database: TestDatabase) throws {
        try self.init(url: database.url, database: database)
    }

    private init(url: String, database: TestDatabase?) throws {
        databaseURL = url
        self.database = database
        kafka = try RDKafkaMockCluster(brokers: 3, topics: [(Self.topic, Self.partitions), (Self.topic + ".dlq", 1)])
    }

    deinit { database?.drop() }

    /// Starts `outboxd <arguments>` on this rig's database and brokers.
    func start(_ arguments: [String], _ extra: [String: String] = [:]) throws -> DaemonProcess {
        try DaemonProcess(arguments: arguments, environment: [
            "DATABASE_URL": databaseURL, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrapServers,
            "RELAY_TAKEOVER_INTERVAL": "200ms",
        ].merging(extra) { $1 })
    }

    /// `outboxd serve` (API, relay and the audit consumer) on a free port; returns it and the port.
    func serve(_ extra: [String: String] = [:]) throws -> (process: DaemonProcess, port: Int) {
        let process = try start(["serve", "--http-listen", "127.0.0.1:0"], Self.consumerSettings.merging(["CONSUMERS": "audit"]) { $1 }.merging(extra) { $1 })
        return (process, try process.waitForPort())
    }

    /// `outboxd consume --only audit`.
    func consumeAudit(_ extra: [String: String] = [:]) throws -> DaemonProcess {
        try start(["consume", "--only", "audit"], Self.consumerSettings.merging(extra) { $1 })
    }

    /// When a member leaves, librdkafka's mock cluster holds the next join for the session timeout
    /// less a second (a real broker does not), so a consumer started after another stopped would
    /// wait 44 s with the default 45 s.
    static let consumerSettings = ["KAFKA_SESSION_TIMEOUT_MS": "6000"]

    /// Waits until the audit consumer has applied an event: its group has joined and it consumes.
    func waitForAuditConsumer() throws {
        try waitUntil("the audit consumer applies events") { try count("SELECT count(*) FROM audit_log") > 0 }
    }

    func connect() throws -> PQConnection { try PQConnection(conninfo: databaseURL) }

    /// The first column of the first row of `sql`, as an Int.
    func count(_ sql: String, _ parameters: [(any PostgresParameter)?] = []) throws -> Int {
        let connection = try connect()
        defer { connection.close() }
        return try connection.query(sql, parameters).first?.decode(Int.self, at: 0) ?? 0
    }

    /// Outbox rows the relay still has to publish (parked rows are counted apart).
    func pending() throws -> Int {
        try count(Self.pendingSQL)
    }

    static let pendingSQL = "SELECT count(*) FROM outbox WHERE published_at IS NULL AND parked_at IS NULL"

    /// Adds `rtt` to every reply of every broker (`.zero` restores them).
    func setRoundTrip(_ rtt: Duration) {
        for broker in 1...kafka.brokerCount { kafka.setRoundTrip(rtt, broker: Int32(broker)) }
    }

    /// SIGTERM to each process; returns their exit codes in order.
    func terminate(_ processes: [DaemonProcess]) throws -> [Int32] {
        processes.forEach { $0.signal(SIGTERM) }
        return try processes.map { try $0.waitForExit() }
    }
}
