// outboxd-bench: the raw ceilings that bench/*.sh compare outboxd against. Not installed; built
// with the release binary.
//
//   outboxd-bench consume [--count N] [--partitions P] [--consumers audit,notifications,reminders]
//                          [--bootstrap ADDR]                 (DATABASE_URL: a migrated database)
//
// Preloads N task events (each a new task with a due time) into a topic of an embedded cluster, or
// of the broker at ADDR (topics created with P partitions), then reads them all with a plain
// consumer (the raw consume rate) and applies them all with each named consumer in turn (its own
// group; inbox rows and effects per poll batch, offsets stored after each commit). Prints one
// `BENCH consume …` line per mode.
//
//   outboxd-bench produce [--count N] [--batch B] [--partitions P] [--value-bytes V] [--bootstrap ADDR]
//                          [--set librdkafka.property=value …]
//
// Produces N messages shaped like outbox events (36-byte key, V-byte value, six CloudEvents headers)
// with outboxd's own producer settings, in two ways: batches of B waiting for every delivery report
// (what the relay does, minus PostgreSQL), and all N at once then flush (librdkafka's pipelined
// ceiling); each with its CPU per message (all threads, messages built before the clock starts).
// Without --bootstrap it starts the same embedded mock cluster as `outboxd relay`
// (3 brokers, P partitions). Prints one `BENCH produce …` line per mode.
//
//   outboxd-bench mock-cluster [--brokers B] [--partitions P] [--topic T]
//
// Hosts librdkafka's mock cluster in this process, the same shape as `KAFKA_BOOTSTRAP_SERVERS=embedded`
// (B brokers, default 3; topic T, default task-events, with P partitions, default 6, and T.dlq with 1),
// prints `BENCH mock-cluster bootstrap=HOST:PORT,…` and runs until killed, so that a benchmark can
// point `outboxd` at a broker whose CPU and memory are not the daemon's.
import Foundation
import OutboxdConsumers
import OutboxdCore
import OutboxdKafka
import OutboxdPostgres

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("outboxd-bench: \(message)\n".utf8))
    exit(64)
}

func option(_ name: String, in arguments: [String], default value: Int) -> Int {
    guard let index = arguments.firstIndex(of: name) else { return value }
    guard index + 1 < arguments.count, let parsed = Int(arguments[index + 1]), parsed > 0 else {
        fail("\(name) needs a positive integer")
    }
    return parsed
}

func seconds(_ elapsed: Duration) -> Double {
    Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

/// User and system CPU of this process so far, all threads.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

func produce(_ arguments: [String]) throws {
    let count = option("--count", in: arguments, default: 200_000)
    let batchSize = option("--batch", in: arguments, default: 500)
    let partitions = option("--partitions", in: arguments, default: 6)
    let valueBytes = option("--value-bytes", in: arguments, default: 330)
    let topic = "task-events"
    var cluster: RDKafkaMockCluster?
    var bootstrap = ""
    if let index = arguments.firstIndex(of: "--bootstrap"), index + 1 < arguments.count {
        bootstrap = arguments[index + 1]
    } else {
        cluster = try RDKafkaMockCluster(brokers: option("--brokers", in: arguments, default: 3), topics: [(topic, partitions)])
        bootstrap = cluster!.bootstrapServers
    }
    var properties: [(name: String, value: String, key: String)] = []
    for (index, argument) in arguments.enumerated() where argument == "--set" && index + 1 < arguments.count {
        let pair = arguments[index + 1].split(separator: "=", maxSplits: 1).map(String.init)
        guard pair.count == 2 else { fail("--set needs name=value") }
        properties.append((pair[0], pair[1], "--set"))
    }
    let producer = try RDKafkaProducer(configuration: KafkaClientConfiguration(bootstrapServers: bootstrap, properties: properties))
    try producer.checkReachable(timeout: .seconds(10))
    let value = [UInt8](repeating: UInt8(ascii: "x"), count: valueBytes)
    let time = Array(Timestamp.now().rfc3339.utf8)
    // Messages are built before each mode is timed, so its CPU is the producer's alone. Keys and
    // ids count up in UUID form: UUID() opens /dev/urandom per call, which is no part of producing.
    var serial = 0
    func message() -> KafkaMessage {
        serial += 1
        let id = Array(String(format: "00000000-0000-4000-8000-%012x", serial).utf8)
        return KafkaMessage(topic: topic, key: id, value: value, headers: [
            ("ce_id", id), ("ce_type", Array("task.created".utf8)),
            ("ce_source", Array("outboxd".utf8)), ("ce_time", time),
            ("ce_specversion", Array("1.0".utf8)), ("content-type", Array("application/json".utf8)),
        ])
    }
    _ = producer.send((0..<1000).map { _ in message() }, timeout: .seconds(30)) // warm-up: metadata, producer id

    func report(_ mode: String, _ delivered: Int, _ failed: Int, _ elapsed: Duration, cpu: Double) {
        let elapsedSeconds = seconds(elapsed)
        print(String(format: "BENCH produce mode=%@ messages=%d failed=%d seconds=%.3f events_per_s=%.0f cpu_us_per_msg=%.2f batch=%d partitions=%d value_bytes=%d",
                     mode, delivered, failed, elapsedSeconds, Double(delivered) / elapsedSeconds, cpu * 1e6 / Double(max(1, delivered + failed)),
                     batchSize, partitions, valueBytes))
    }

    var messages = (0..<count).map { _ in message() }
    var delivered = 0, failed = 0
    var cpuStart = processCPUSeconds()
    var start = ContinuousClock.now
    var offset = 0
    while offset < messages.count {
        let batch = Array(messages[offset..<min(offset + batchSize, messages.count)])
        offset += batch.count
        for result in producer.send(batch, timeout: .seconds(30)) {
            if case .delivered = result { delivered += 1 } else { failed += 1 }
        }
    }
    report("batched", delivered, failed, ContinuousClock.now - start, cpu: processCPUSeconds() - cpuStart)

    messages = (0..<count).map { _ in message() }
    cpuStart = processCPUSeconds()
    start = ContinuousClock.now
    delivered = 0; failed = 0
    for result in producer.send(messages, timeout: .seconds(120)) {
        if case .delivered = result { delivered += 1 } else { failed += 1 }
    }
    report("pipelined", delivered, failed, ContinuousClock.now - start, cpu: processCPUSeconds() - cpuStart)
    producer.close()
    _ = cluster
}

func consume(_ arguments: [String]) throws {
    let count = option("--count", in: arguments, default: 100_000)
    let partitions = option("--partitions", in: arguments, default: 6)
    guard let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty else { fail("DATABASE_URL must name a migrated database") }
    var names = ["audit", "notifications", "reminders"]
    if let index = arguments.firstIndex(of: "--consumers") {
        guard index + 1 < arguments.count else { fail("--consumers needs a list: audit,notifications,reminders") }
        names = arguments[index + 1].split(separator: ",").map(String.init)
        guard !names.isEmpty, names.allSatisfy(["audit", "notifications", "reminders"].contains) else {
            fail("--consumers takes audit, notifications and reminders, comma-separated (got '\(arguments[index + 1])')")
        }
    }
    let topic = "task-events"
    var cluster: RDKafkaMockCluster?
    let bootstrap: String
    if let index = arguments.firstIndex(of: "--bootstrap"), index + 1 < arguments.count {
        bootstrap = arguments[index + 1]
    } else {
        cluster = try RDKafkaMockCluster(brokers: 3, topics: [(topic, partitions), (topic + ".dlq", 1)])
        bootstrap = cluster!.bootstrapServers
    }
    let kafka = KafkaClientConfiguration(bootstrapServers: bootstrap)
    let producer = try RDKafkaProducer(configuration: kafka, topicPolicy: KafkaTopicPolicy(partitions: partitions))
    let refused = try producer.provisionTopics([topic, topic + ".dlq"], timeout: .seconds(30))
    guard refused.isEmpty else { fail("cannot create the topics: \(refused)") }
    let now = Timestamp.now().rfc3339
    let due = Timestamp(microsecondsSinceEpoch: Timestamp.now().microsecondsSinceEpoch + 86_400_000_000).rfc3339
    var messages: [KafkaMessage] = []
    messages.reserveCapacity(count)
    // Each event a new task due tomorrow: an audit row, a notification and a reminder apiece.
    for n in 0..<count {
        let eventID = UUID().lowercaseString, taskID = UUID().lowercaseString
        let payload = #"{"event_id":"\#(eventID)","event_type":"task.created","occurred_at":"\#(now)","task":{"id":"\#(taskID)","title":"bench \#(n)","description":null,"status":"todo","due_at":"\#(due)","created_at":"\#(now)","updated_at":"\#(now)","version":1}}"#
        messages.append(KafkaMessage(topic: topic, key: Array(taskID.utf8), value: Array(payload.utf8), headers: [
            ("ce_id", Array(eventID.utf8)), ("ce_type", Array("task.created".utf8)), ("ce_source", Array("outboxd".utf8)),
            ("ce_time", Array(now.utf8)), ("ce_specversion", Array("1.0".utf8)), ("content-type", Array("application/json".utf8)),
        ]))
    }
    let failed = producer.send(messages, timeout: .seconds(120)).filter { if case .delivered = $0 { false } else { true } }.count
    guard failed == 0 else { fail("\(failed) events were not preloaded") }

    var start = ContinuousClock.now
    let raw = try RDKafkaConsumer(configuration: kafka, groupID: "bench-raw", topics: [topic])
    var read = 0
    var first: ContinuousClock.Instant?
    while read < count, ContinuousClock.now - start < .seconds(300) {
        if try raw.poll(timeout: .milliseconds(100)) != nil {
            if first == nil { first = ContinuousClock.now }
            read += 1
        }
    }
    raw.close()
    let rawElapsed = ContinuousClock.now - (first ?? start)
    print(String(format: "BENCH consume mode=raw events=%d seconds=%.3f events_per_s=%.0f (from the first record; group join excluded)",
                 read, seconds(rawElapsed), Double(read) / seconds(rawElapsed)))

    var configuration = ConsumerConfiguration()
    configuration.groupPrefix = "bench-"
    for name in names {
        let handler: any EventHandler = switch name {
        case "audit": AuditHandler()
        case "notifications": NotificationHandler(recipient: "bench@example.invalid")
        default: ReminderHandler(lead: .seconds(3600))
        }
        let runner = ConsumerRunner(handler: handler, configuration: configuration, database: PostgresPoolConfiguration(conninfo: url),
                                    kafka: kafka, topic: topic, deadLetters: producer)
        start = ContinuousClock.now
        runner.run()
        var firstApplied: ContinuousClock.Instant?
        while runner.progress.applied + runner.progress.duplicates < count, ContinuousClock.now - start < .seconds(600) {
            if firstApplied == nil, runner.progress.applied > 0 { firstApplied = ContinuousClock.now }
            Thread.sleep(forTimeInterval: 0.001)
        }
        let elapsed = ContinuousClock.now - (firstApplied ?? start)
        let progress = runner.progress
        runner.stop()
        print(String(format: "BENCH consume mode=%@ events=%d duplicates=%d dead_lettered=%d seconds=%.3f events_per_s=%.0f (from the first effect)",
                     name, progress.applied, progress.duplicates, progress.deadLettered, seconds(elapsed), Double(progress.applied) / seconds(elapsed)))
    }
    producer.close()
    _ = cluster
}

func mockCluster(_ arguments: [String]) throws -> Never {
    let brokers = option("--brokers", in: arguments, default: 3)
    let partitions = option("--partitions", in: arguments, default: 6)
    var topic = "task-events"
    if let index = arguments.firstIndex(of: "--topic") {
        guard index + 1 < arguments.count, !arguments[index + 1].isEmpty else { fail("--topic needs a topic name") }
        topic = arguments[index + 1]
    }
    let cluster = try RDKafkaMockCluster(brokers: brokers, topics: [(topic, partitions), (topic + ".dlq", 1)])
    // Unbuffered: the script reads the address while this process runs.
    FileHandle.standardOutput.write(Data("BENCH mock-cluster bootstrap=\(cluster.bootstrapServers) brokers=\(brokers) topic=\(topic) partitions=\(partitions)\n".utf8))
    while true { withExtendedLifetime(cluster) { _ = sleep(3600) } }
}

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.contains(where: { $0.hasPrefix("debug=") }) {
    var settings = Logger.Settings()
    settings.minimum = .debug
    Logger.configure(settings)
}
switch arguments.first {
case "produce":
    do { try produce(Array(arguments.dropFirst())) } catch { fail("\(error)") }
case "consume":
    do { try consume(Array(arguments.dropFirst())) } catch { fail("\(error)") }
case "mock-cluster":
    do { try mockCluster(Array(arguments.dropFirst())) } catch { fail("\(error)") }
default:
    fail("usage: outboxd-bench produce [--count N] [--batch B] [--partitions P] [--value-bytes V] [--bootstrap ADDR] | consume [--count N] [--partitions P] [--consumers LIST] [--bootstrap ADDR] | mock-cluster [--brokers B] [--partitions P] [--topic T]")
}
