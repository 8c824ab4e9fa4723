import Foundation
import OutboxdKafka
import OutboxdPostgres
import OutboxdTestSupport

/// What a fault scenario runs against: a database, and either a Kafka mock cluster owned by the
/// test process (so the test can take its brokers down or slow them) or the real-broker tier's
/// Tansu (`OUTBOXD_TEST_KAFKA`, stalled with SIGSTOP), and `outboxd` processes pointed at both.
final class FaultRig {
    /// librdkafka's mock cluster keeps 5 MB per partition and drops older records; 16 partitions
    /// hold every event of the long scenarios (`FaultCounts` checks that nothing was dropped).
    static let partitions = 16

    let databaseURL: String
    /// The events topic: `task-events` on a mock cluster of the rig's own; a topic of its own on
    /// the shared real broker, created by the daemon (KAFKA_TOPIC_CREATE=auto).
    let topic: String
    let bootstrapServers: String
    private let mock: RDKafkaMockCluster?
    /// The real broker's process, for a stall (SIGSTOP / SIGCONT).
    private let brokerPID: pid_t?
    /// Consumer groups of the rig's processes, apart from other rigs' on a shared broker.
    private let groupPrefix: String
    private let database: TestDatabase?
    /// `RELAY_SOURCE=wal` for every relay of the rig when `OUTBOXD_TEST_RELAY_SOURCE=wal` (the
    /// fault suite in WAL mode), on a slot of the rig's own; nil: poll mode.
    let walSlot: String?

    static var relaySource: String { ProcessInfo.processInfo.environment["OUTBOXD_TEST_RELAY_SOURCE"] ?? "poll" }

    /// The real-broker tier's broker, when `scripts/test-real-broker.sh` runs the suite.
    static var realBroker: (bootstrap: String, pid: pid_t)? {
        let environment = ProcessInfo.processInfo.environment
        guard let bootstrap = environment["OUTBOXD_TEST_KAFKA"], !bootstrap.isEmpty,
              let pid = environment["OUTBOXD_TEST_KAFKA_PID"].flatMap({ pid_t($0) }) else { return nil }
        return (bootstrap, pid)
    }

    /// A rig on a database of its own in the shared test cluster; `realBroker`: on the real-broker
    /// tier's Tansu instead of a mock cluster.
    /// `relaySource`: `wal` for a rig in WAL mode whatever `OUTBOXD_TEST_RELAY_SOURCE` says.
    convenience init(realBroker: Bool = false, relaySource: String = FaultRig.relaySource) throws {
        try self.init(url: nil, database: try TestDatabase.create(), realBroker: realBroker, relaySource: relaySource)
    }

    /// A rig on `url` (a private cluster the scenario restarts), migrated by `outboxd migrate`.
    convenience init(migrating url: String) throws {
        let migrate = try DaemonProcess(arguments: ["migrate"], environment: ["DATABASE_URL": url])
        guard try migrate.waitForExit() == 0 else { throw HTTPTestError("outboxd migrate failed:\n\(migrate.output)") }
        try self.init(url: url, database: nil, realBroker: false, relaySource: Self.relaySource)
    }

    private init(url: String?, database: TestDatabase?, realBroker: Bool, relaySource: String) throws {
        databaseURL = url ?? database!.url
        self.database = database
        let unique = UUID().uuidString.prefix(8).lowercased()
        walSlot = relaySource == "wal" ? "fault_\(unique)" : nil
        if realBroker {
            guard let broker = Self.realBroker else { throw HTTPTestError("OUTBOXD_TEST_KAFKA is not set: run scripts/test-real-broker.sh") }
            mock = nil
            brokerPID = broker.pid
            bootstrapServers = broker.bootstrap
            topic = "fault-\(unique)"
            groupPrefix = "fault-\(unique)-"
        } else {
            topic = "task-events"
            let cluster = try RDKafkaMockCluster(brokers: 3, topics: [(topic, Self.partitions), (topic + ".dlq", 1)])
            mock = cluster
            brokerPID = nil
            bootstrapServers = cluster.bootstrapServers
            groupPrefix = "outboxd-"
        }
    }

    /// The mock cluster (scenarios that take its brokers down or slow them run on one).
    var kafka: RDKafkaMockCluster { mock! }

    /// Freezes the real broker's process (SIGSTOP): connections stay open, nothing answers.
    func stallBroker() { if let brokerPID { kill(brokerPID, SIGSTOP) } }

    func resumeBroker() { if let brokerPID { kill(brokerPID, SIGCONT) } }

    deinit { database?.drop() }

    /// Starts `outboxd <arguments>` on this rig's database and brokers.
    func start(_ arguments: [String], _ extra: [String: String] = [:]) throws -> DaemonProcess {
        try DaemonProcess(arguments: arguments, environment: [
            "DATABASE_URL": databaseURL, "KAFKA_BOOTSTRAP_SERVERS": bootstrapServers, "OUTBOX_TOPIC": topic,
            "KAFKA_TOPIC_PARTITIONS": String(Self.partitions), "CONSUMER_GROUP_PREFIX": groupPrefix,
            "RELAY_TAKEOVER_INTERVAL": "200ms",
        ].merging(walSlot.map { ["RELAY_SOURCE": "wal", "RELAY_WAL_SLOT": $0] } ?? [:]) { $1 }
         .merging(ProcessInfo.processInfo.environment.filter { $0.key == "LD_LIBRARY_PATH" }) { $1 }.merging(extra) { $1 })
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
    /// wait 44 s with the default 45 s; Tansu answers a first JoinGroup after half of it.
    static let consumerSettings = ["KAFKA_SESSION_TIMEOUT_MS": "6000"]
    /// The same for the test's own readers (librdkafka property names).
    static let readerSettings: [(name: String, value: String, key: String)] = [("session.timeout.ms", "6000", "test")]

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

    /// Ends `slot`'s stream and drops the slot; true once it is gone (a relay may take it again
    /// between the two: try again).
    func dropSlot(_ slot: String) throws -> Bool {
        let connection = try connect()
        defer { connection.close() }
        try connection.query("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active", [slot])
        if (try? connection.query("SELECT pg_drop_replication_slot($1)", [slot])) != nil { return true }
        return try connection.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", [slot]).first == nil
    }

    /// Whether a relay streams `slot` now.
    func slotIsActive(_ slot: String) throws -> Bool {
        try count("SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1 AND active", [slot]) == 1
    }

    /// Adds `rtt` to every reply of every broker (`.zero` restores them).
    func setRoundTrip(_ rtt: Duration) {
        guard mock != nil else { return }
        for broker in 1...kafka.brokerCount { kafka.setRoundTrip(rtt, broker: Int32(broker)) }
    }

    /// SIGTERM to each process; returns their exit codes in order.
    func terminate(_ processes: [DaemonProcess]) throws -> [Int32] {
        processes.forEach { $0.signal(SIGTERM) }
        return try processes.map { try $0.waitForExit() }
    }
}
