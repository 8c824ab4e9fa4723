import Foundation
import OutboxdPostgres
import OutboxdTestSupport

/// A PostgreSQL cluster of its own inside a network namespace, reached from the test through two
/// veth pairs (`a` and `b`, one /30 each), so one path can be blackholed while the other works:
/// the `blackhole` qdisc on both ends of a pair drops every packet, and neither kernel answers
/// anything (no RST, no keepalive ACK), as in a network partition. Needs root, `ip` and `tc`.
final class NamespacedPostgres {
    let name: String
    private let octet: Int
    private let directory: URL
    static let port = 5432

    /// Root, iproute2 and a kernel with network namespaces and the blackhole qdisc.
    static let isPossible: Bool = {
        guard geteuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip"),
              FileManager.default.isExecutableFile(atPath: "/usr/sbin/tc") else { return false }
        let probe = "obxp\(getpid() % 100_000)"
        defer { _ = try? shell("ip netns del \(probe)") }
        return (try? shell("ip netns add \(probe) && ip netns exec \(probe) ip link add probe0 type veth peer name probe1 && ip netns exec \(probe) tc qdisc add dev probe0 root blackhole")) != nil
    }()

    /// `settings`: more server settings (`-c name=value …`).
    init(settings: String = "") throws {
        name = "obx\(Int.random(in: 10_000...99_999))"
        octet = Int.random(in: 0...126) * 2
        directory = TestEnvironment.scratchDirectory.appendingPathComponent("netns-pg-\(name)")
        do {
            try Self.shell("ip netns add \(name) && ip netns exec \(name) ip link set lo up")
            for (index, side) in ["a", "b"].enumerated() {
                let subnet = "10.231.\(octet + index)"
                try Self.shell("""
                    ip link add \(name)\(side)h type veth peer name \(name)\(side)n && ip link set \(name)\(side)n netns \(name) \
                    && ip addr add \(subnet).1/30 dev \(name)\(side)h && ip link set \(name)\(side)h up \
                    && ip netns exec \(name) ip addr add \(subnet).2/30 dev \(name)\(side)n && ip netns exec \(name) ip link set \(name)\(side)n up
                    """)
            }
            let listen = "127.0.0.1,10.231.\(octet).2,10.231.\(octet + 1).2"
            try Self.shell("PG_SETTINGS='-c listen_addresses=\(listen) \(settings)' OUTBOXD_DBNAME=outboxd ip netns exec \(name) "
                           + "\(TestEnvironment.repositoryRoot.path)/scripts/pg.sh start \(directory.path) \(Self.port) --fast")
            // pg.sh trusts local connections only; the veth addresses are the test's too.
            try Self.shell("echo 'host all all 10.231.0.0/16 trust' >> \(directory.path)/data/pg_hba.conf && ip netns exec \(name) "
                           + "/usr/lib/postgresql/15/bin/psql -h 127.0.0.1 -p \(Self.port) -U postgres -d outboxd -Atqc 'SELECT pg_reload_conf()'")
            var connection: PQConnection?
            try waitUntil("the cluster in the namespace accepts the veth address", timeout: .seconds(20)) {
                connection = try? PQConnection(conninfo: url("b"))
                return connection != nil
            }
            defer { connection?.close() }
            _ = try Migrator(directory: TestEnvironment.migrationsDirectory).migrate(on: connection!)
        } catch {
            close()
            throw error
        }
    }

    /// The cluster's `outboxd` database through pair `side`.
    func url(_ side: String) -> String {
        "postgresql://postgres@10.231.\(octet + (side == "a" ? 0 : 1)).2:\(Self.port)/outboxd"
    }

    /// The test's own address on pair `side` (the server sees its sessions from there).
    func clientAddress(_ side: String) -> String {
        "10.231.\(octet + (side == "a" ? 0 : 1)).1"
    }

    /// Drops every packet of pair `side`, both ways.
    func blackhole(_ side: String) throws {
        try Self.shell("tc qdisc add dev \(name)\(side)h root blackhole && ip netns exec \(name) tc qdisc add dev \(name)\(side)n root blackhole")
    }

    /// Lets pair `side`'s packets through again.
    func heal(_ side: String) {
        _ = try? Self.shell("tc qdisc del dev \(name)\(side)h root; ip netns exec \(name) tc qdisc del dev \(name)\(side)n root")
    }

    func close() {
        _ = try? Self.shell("\(TestEnvironment.repositoryRoot.path)/scripts/pg.sh stop \(directory.path) immediate")
        _ = try? Self.shell("ip link del \(name)ah; ip link del \(name)bh; ip netns del \(name)")
        try? FileManager.default.removeItem(at: directory)
    }

    deinit { close() }

    /// Runs `command` with /bin/sh; throws with its output when it fails.
    @discardableResult
    static func shell(_ command: String) throws -> String {
        let child = try ChildProcess(executable: "/bin/sh", arguments: ["-c", command], environment: ProcessInfo.processInfo.environment)
        let status = child.waitForExit()
        let text = child.output
        try? FileManager.default.removeItem(atPath: child.outputPath)
        guard status == 0 else { throw HTTPTestError("`\(command)` failed (\(status)): \(text)") }
        return text
    }
}
