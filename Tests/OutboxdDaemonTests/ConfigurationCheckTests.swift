import Foundation
import Glibc
import OutboxdTestSupport
import Testing
@testable import OutboxdDaemon

/// Issue #28 items 5 and 6: one check of the settings for `check-config` and every command
/// (`ConfigurationLoader.load`): what librdkafka refuses, addresses of other machines, sizes
/// that do not fit what they feed, NULs, long keys and values, all refused naming the key,
/// echoing little and no secret.
@Suite struct ConfigurationCheckTests {
    /// What every command does with these settings.
    static func load(_ environment: [String: String]) throws(ConfigurationError) -> ConfigurationLoader {
        try ConfigurationLoader.load(path: nil, flags: [], environment: environment)
    }

    static func refusal(_ environment: [String: String]) -> ConfigurationError? {
        refusal { _ = try load(environment) }
    }

    /// The `ConfigurationError` `body` throws, or nil.
    static func refusal(_ body: () throws -> Void) -> ConfigurationError? {
        do {
            try body()
            return nil
        } catch {
            return error as? ConfigurationError
        }
    }

    /// Each value alone is fine to the loader; librdkafka refuses it when it makes the producer
    /// or a consumer (the last two only when it makes one), so the check does.
    @Test(arguments: [
        ("KAFKA_LINGER_MS", "abc", "librdkafka's producer refuses linger.ms"),
        ("KAFKA_NO_SUCH_PROPERTY", "1", "librdkafka's producer refuses no.such.property"),
        ("KAFKA_ACKS", "1", "librdkafka's producer refuses acks"),
        ("KAFKA_FETCH_MAX_BYTES", "1000", "librdkafka's consumer refuses fetch.max.bytes"),
    ])
    func whatLibrdkafkaRefusesIsRefusedNamingTheKey(key: String, value: String, message: String) throws {
        _ = try ConfigurationLoader(fileText: nil, environment: [key: value], flags: [])
        let error = try #require(Self.refusal([key: value]), "\(key)=\(value) accepted")
        #expect(error.key == key)
        #expect(error.description.hasPrefix("\(key): \(message)"), "\(error)")
    }

    @Test func settingsLibrdkafkaTakesPass() throws {
        let loader = try Self.load(["KAFKA_COMPRESSION_TYPE": "lz4", "KAFKA_LINGER_MS": "5", "KAFKA_SESSION_TIMEOUT_MS": "6000",
                                    "KAFKA_BOOTSTRAP_SERVERS": "kafka1:9092, SSL://kafka2:9093,[::1]:9094,kafka3"])
        #expect(loader.configuration.kafka.passthrough["linger.ms"] == "5")
    }

    /// Issue #26: a JsonConverter's value is the event's JSON inside a string, which the built-in
    /// consumers cannot read: refused unless CONSUMERS=none; the string converter keeps them.
    @Test func aJsonConverterNeedsTheBuiltInConsumersOff() throws {
        let error = try #require(Self.refusal(["OUTBOX_RECORD_SHAPE": "debezium", "OUTBOX_DEBEZIUM_CONVERTER": "json-schemaless"]))
        #expect(error.key == "OUTBOX_DEBEZIUM_CONVERTER")
        #expect(error.description.contains("set CONSUMERS=none"), "\(error)")
        #expect(Self.refusal(["OUTBOX_RECORD_SHAPE": "debezium", "OUTBOX_DEBEZIUM_CONVERTER": "json", "CONSUMERS": "none"]) == nil)
        #expect(Self.refusal(["OUTBOX_RECORD_SHAPE": "debezium", "OUTBOX_DEBEZIUM_CONVERTER": "string"]) == nil)
        // The converter is the Debezium shape's: the CloudEvents shape ignores it.
        #expect(Self.refusal(["OUTBOX_DEBEZIUM_CONVERTER": "json"]) == nil)
    }

    /// Issue #26: the Debezium shape's producer partitions as Kafka's Java producer does unless
    /// KAFKA_PARTITIONER says otherwise; the check sees what start-up makes the producer with.
    @Test func theDebeziumShapesPartitionerIsCheckedWithTheUsersOne() throws {
        func partitioners(_ environment: [String: String]) throws -> [String] {
            try Self.load(environment).configuration.kafkaClient(bootstrapServers: "kafka:9092")
                .producerProperties(messageTimeout: .seconds(1), topicPolicy: .init()).filter { $0.name == "partitioner" }.map(\.value)
        }
        #expect(try partitioners([:]) == [])
        #expect(try partitioners(["OUTBOX_RECORD_SHAPE": "debezium"]) == ["murmur2_random"])
        #expect(try partitioners(["OUTBOX_RECORD_SHAPE": "debezium", "KAFKA_PARTITIONER": "consistent_random"]) == ["murmur2_random", "consistent_random"])
        let bogus = try #require(Self.refusal(["OUTBOX_RECORD_SHAPE": "debezium", "KAFKA_PARTITIONER": "crc99"]))
        #expect(bogus.key == "KAFKA_PARTITIONER", "\(bogus)")
    }

    /// A secret librdkafka refuses (a key that is not PEM) is named, never shown.
    @Test func aRefusedSecretIsNamedNotShown() throws {
        let secret = "-----BEGIN PRIVATE KEY-----s3cret-key-material"
        let error = try #require(Self.refusal(["KAFKA_SECURITY_PROTOCOL": "ssl", "KAFKA_SSL_KEY_PEM": secret]))
        #expect(error.key == "KAFKA_SSL_KEY_PEM", "\(error)")
        #expect(!error.description.contains("s3cret"), "\(error)")
    }

    /// A listener's host must be an address of this machine; its port is not tried, so a port
    /// another process (a running daemon) holds passes.
    @Test func listenAddressesMustBeOfThisMachine() throws {
        for key in ["HTTP_LISTEN", "METRICS_LISTEN"] {
            let error = try #require(Self.refusal([key: "192.0.2.1:8080"]), "\(key) on another machine's address accepted")
            #expect(error.key == key)
            #expect(error.description.contains("192.0.2.1 is not an address of this machine"), "\(error)")
            #expect(Self.refusal([key: "127.0.0.1:0"]) == nil)
            #expect(Self.refusal([key: "[::1]:8080"]) == nil)
            #expect(Self.refusal([key: "0.0.0.0:8080"]) == nil)
            #expect(Self.refusal([key: "localhost:8080"]) == nil)
        }
        let (descriptor, port) = try Self.listeningSocket()
        defer { close(descriptor) }
        #expect(Self.refusal(["HTTP_LISTEN": "127.0.0.1:\(port)"]) == nil)
    }

    /// A socket listening on 127.0.0.1 on a port the system picks.
    static func listeningSocket() throws -> (Int32, Int) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && listen(descriptor, 1) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard descriptor >= 0, bound else { throw HTTPTestError("cannot listen on 127.0.0.1: errno \(errno)") }
        return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// Sizes against what they feed: a task event with EVENT_SOURCE must fit librdkafka's
    /// message.max.bytes, a relay batch its queue, OUTBOX_TOPIC its dead-letter topic's name, the
    /// route's fixed text a topic name.
    @Test func sizesAreCheckedAgainstWhatTheyFeed() throws {
        let largest = Configuration.largestTaskRecordBytes
        let small = try #require(Self.refusal(["KAFKA_MESSAGE_MAX_BYTES": "50000"]))
        #expect(small.key == "KAFKA_MESSAGE_MAX_BYTES")
        #expect(small.description.contains("a task event can take \(largest + 7) bytes"), "\(small)")
        let fits = String(largest + 7)
        #expect(Self.refusal(["KAFKA_MESSAGE_MAX_BYTES": fits]) == nil)
        let longSource = String(repeating: "s", count: 4096)
        #expect(Self.refusal(["KAFKA_MESSAGE_MAX_BYTES": fits, "EVENT_SOURCE": longSource])?.key == "KAFKA_MESSAGE_MAX_BYTES")
        #expect(Self.refusal(["KAFKA_MESSAGE_MAX_BYTES": String(largest + 4096), "EVENT_SOURCE": longSource]) == nil)

        let queue = try #require(Self.refusal(["KAFKA_QUEUE_BUFFERING_MAX_MESSAGES": "100"]))
        #expect(queue.key == "RELAY_BATCH_SIZE")
        #expect(queue.description.contains("queue.buffering.max.messages (100, KAFKA_QUEUE_BUFFERING_MAX_MESSAGES)"), "\(queue)")
        #expect(Self.refusal(["KAFKA_QUEUE_BUFFERING_MAX_MESSAGES": "100", "RELAY_BATCH_SIZE": "100"]) == nil)

        let claim = try #require(Self.refusal(["KAFKA_MESSAGE_MAX_BYTES": "2000000", "RELAY_BATCH_BYTES": "1000000"]))
        #expect(claim.key == "RELAY_BATCH_BYTES")
        #expect(claim.description.contains("below librdkafka's message.max.bytes (2000000, KAFKA_MESSAGE_MAX_BYTES)"), "\(claim)")
        #expect(Self.refusal(["KAFKA_MESSAGE_MAX_BYTES": "2000000", "RELAY_BATCH_BYTES": "2000000"]) == nil)

        let source = try #require(Self.refusal(["EVENT_SOURCE": longSource + "s"]))
        #expect(source.description == "EVENT_SOURCE: is 4097 bytes; at most 4096 (the ce_source header of every record, which must fit librdkafka's message.max.bytes)")

        let topic = String(repeating: "t", count: 246)
        #expect(Self.refusal(["OUTBOX_TOPIC": topic])?.description
            == "OUTBOX_TOPIC: is 246 characters; at most 245, so that its dead-letter topic <topic>.dlq is a Kafka topic name too")
        #expect(Self.refusal(["OUTBOX_TOPIC": String(topic.dropLast())]) == nil)
        let route = String(repeating: "r", count: 248) + "{aggregate_type}{event_type}"
        #expect(Self.refusal(["OUTBOX_TOPIC_ROUTE": route])?.key == "OUTBOX_TOPIC_ROUTE")
        #expect(Self.refusal(["OUTBOX_TOPIC_ROUTE": String(repeating: "r", count: 247) + "{aggregate_type}{event_type}"]) == nil)
    }

    /// A NUL would end the value in libpq or librdkafka, silently: refused naming the key and where it came from.
    @Test(arguments: ["DATABASE_URL", "OUTBOX_TOPIC", "KAFKA_CLIENT_ID", "EVENT_SOURCE"])
    func aNULInAValueIsRefusedNamingTheKey(key: String) throws {
        let value = key == "DATABASE_URL" ? "postgresql://app:s3cret@db/tasks\u{0}?sslmode=disable" : "a\u{0}b"
        let errors = [
            Self.refusal { _ = try ConfigurationLoader(fileText: "\(key)=\(value)\n", fileName: "x.conf", environment: [:], flags: []) },
            Self.refusal { _ = try ConfigurationLoader(fileText: nil, environment: [:], flags: [(key: key, value: value)]) },
        ]
        for error in errors {
            let error = try #require(error, "\(key) with a NUL accepted")
            #expect(error.key == key)
            #expect(error.message.hasPrefix("holds a NUL character ("), "\(error)")
            #expect(!error.description.contains("s3cret"))
        }
    }

    /// A 1 MiB unknown key was compared with every known key for a suggestion (28 s of CPU) and
    /// echoed whole; now it is refused at once, cut.
    @Test func aHugeUnknownKeyIsRefusedFastAndCut() throws {
        let key = "HTTP_" + String(repeating: "X", count: 1 << 20)
        let start = ContinuousClock.now
        let errors = [
            Self.refusal { _ = try ConfigurationLoader(fileText: "\(key)=1\n", fileName: "x.conf", environment: [:], flags: []) },
            Self.refusal { _ = try ConfigurationLoader(fileText: nil, environment: [:], flags: [(key: key, value: "1")]) },
            Self.refusal(["KAFKA_" + key: "1"]),
        ]
        #expect(ContinuousClock.now - start < .seconds(3))
        for (error, prefix) in zip(errors, ["HTTP_XXXXX", "HTTP_XXXXX", "KAFKA_HTTP_XXXXX"]) {
            let error = try #require(error, "a 1 MiB key accepted")
            #expect(error.description.utf8.count < 600, "\(error.description.prefix(600))")
            #expect(error.key?.hasPrefix(prefix) == true && error.key!.utf8.count < 100, "\(error.description.prefix(600))")
        }
        #expect(ConfigurationLoader.suggestion(for: "HTTP_LISTN") == " (did you mean HTTP_LISTEN?)")
    }

    /// Every key refuses a 1 MiB value (at once) with a message that echoes a few dozen characters of it at most.
    @Test func aHugeValueIsRefusedForEveryKeyEchoingLittle() {
        let value = String(repeating: "x", count: 1 << 20)
        for key in ConfigurationKey.all.map(\.name) {
            do {
                _ = try ConfigurationLoader(fileText: nil, environment: [:], flags: [(key: key, value: value)])
                Issue.record("\(key) accepted a 1 MiB value")
            } catch {
                #expect(error.key == key, "\(error.description.prefix(300))")
                #expect(error.description.utf8.count < 400, "\(key): \(error.description.prefix(400))")
                #expect(!error.description.contains(String(repeating: "x", count: 101)), "\(key): \(error.description.prefix(400))")
            }
        }
    }

    /// A malformed DATABASE_URL is refused without its password, or any piece of it, however
    /// libpq would have split it; libpq's text is given with its quotations taken out.
    @Test(arguments: [
        ("postgresql://app:p%zzS3CRET@db/tasks", "libpq cannot read it: invalid percent-encoded token: \"…\""),
        ("postgresql://app:S3CR/ET9@db/tasks", "its port is not a number"),
        ("postgresql://app:1234/S3CRET@db/tasks", "its dbname holds an @"),
        ("postgresql://app:S3@CRET9@db/tasks", "its host holds an @"),
        ("postgresql://db/tasks?PASSWORD=S3CRET9", "libpq cannot read it: invalid URI query parameter: \"…\""),
        ("host=db password=two S3CRET9 words", "libpq cannot read it: missing \"=\" after \"…\" in connection info string"),
        ("host=db password='S3CRET9", "libpq cannot read it: unterminated quoted string"),
        ("POSTGRESQL://app:S3CRET9@db/tasks", "libpq reads a URI only with its scheme in lower case"),
    ])
    func aMalformedDatabaseURLIsRefusedWithoutItsPassword(url: String, message: String) {
        do {
            _ = try ConfigurationLoader(fileText: nil, environment: ["DATABASE_URL": url], flags: [])
            Issue.record("accepted \(url)")
        } catch {
            #expect(error.key == "DATABASE_URL")
            #expect(error.message.hasPrefix(message), "\(error)")
            for piece in ["S3", "CRET", "ET9", "zz"] {
                #expect(!error.description.contains(piece), "\(error)")
            }
        }
    }

    /// A password spelled in capitals or percent-escaped (`pass%77ord`), which libpq reads, is masked by check-config.
    @Test func aPercentEscapedPasswordParameterIsMasked() throws {
        let loader = try Self.load(["DATABASE_URL": "postgresql://db/tasks?pass%77ord=S3CRET9&sslmode=disable"])
        let text = OutboxdCommand.checkConfigText(loader)
        #expect(text.contains("DATABASE_URL=postgresql://db/tasks?pass%77ord=***&sslmode=disable  # environment"), "\(text)")
        #expect(!text.contains("S3CRET9"))
        let keywords = try Self.load(["DATABASE_URL": "host=db password = 'S3 CRET9' user=app"])
        #expect(OutboxdCommand.checkConfigText(keywords).contains("DATABASE_URL=host=db password = *** user=app  # environment"))
    }
}
