// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "outboxd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "outboxd", targets: ["outboxd"]),
    ],
    targets: [
        // C libraries from Debian packages, kept at the edge.
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd", providers: [.apt(["libmicrohttpd-dev"])]),

        .target(name: "OutboxdCore"),
        .target(name: "OutboxdPostgres", dependencies: ["CLibPQ", "OutboxdCore"]),
        .target(name: "OutboxdKafka", dependencies: ["CRdKafka", "OutboxdCore"]),
        .target(name: "OutboxdOutbox", dependencies: ["OutboxdCore", "OutboxdPostgres", "OutboxdKafka"]),
        .target(name: "OutboxdHTTP", dependencies: ["CMicroHTTPD", "OutboxdCore"]),
        .target(name: "OutboxdTasks", dependencies: ["OutboxdCore", "OutboxdPostgres", "OutboxdHTTP", "OutboxdOutbox"]),
        .target(name: "OutboxdConsumers", dependencies: ["OutboxdCore", "OutboxdPostgres", "OutboxdKafka", "OutboxdHTTP", "OutboxdOutbox"]),
        .target(name: "OutboxdDaemon", dependencies: ["OutboxdCore", "OutboxdPostgres", "OutboxdHTTP", "OutboxdTasks", "OutboxdKafka", "OutboxdOutbox", "OutboxdConsumers"]),
        .executableTarget(name: "outboxd", dependencies: ["OutboxdDaemon"]),
        // Raw ceilings for the benchmarks in bench/ (not installed).
        .executableTarget(name: "outboxd-bench", dependencies: ["OutboxdCore", "OutboxdKafka", "OutboxdPostgres", "OutboxdConsumers"]),

        .target(name: "OutboxdTestSupport", dependencies: ["OutboxdCore", "OutboxdPostgres", "OutboxdKafka"], path: "Tests/OutboxdTestSupport"),
        .testTarget(name: "OutboxdCoreTests", dependencies: ["OutboxdCore"]),
        .testTarget(name: "OutboxdPostgresTests", dependencies: ["OutboxdPostgres", "OutboxdTestSupport"]),
        .testTarget(name: "OutboxdKafkaTests", dependencies: ["OutboxdKafka", "OutboxdTestSupport"]),
        .testTarget(name: "OutboxdOutboxTests", dependencies: ["OutboxdOutbox", "OutboxdTasks", "OutboxdConsumers", "OutboxdTestSupport"]),
        .testTarget(name: "OutboxdHTTPTests", dependencies: ["OutboxdHTTP", "OutboxdTestSupport"]),
        .testTarget(name: "OutboxdTasksTests", dependencies: ["OutboxdTasks", "OutboxdDaemon", "OutboxdKafka", "OutboxdTestSupport"]),
        .testTarget(name: "OutboxdConsumersTests", dependencies: ["OutboxdConsumers", "OutboxdOutbox", "OutboxdTasks", "OutboxdKafka", "OutboxdHTTP", "OutboxdTestSupport"]),
        .testTarget(name: "OutboxdDaemonTests", dependencies: ["OutboxdDaemon", "OutboxdOutbox", "OutboxdTestSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["OutboxdCore", "OutboxdPostgres", "OutboxdKafka", "OutboxdTestSupport"]),
        // Load + fault + recovery + counting against the binary; OUTBOXD_FAULTS=long for make test-faults.
        .testTarget(name: "FaultTests", dependencies: ["OutboxdCore", "OutboxdPostgres", "OutboxdKafka", "OutboxdTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
