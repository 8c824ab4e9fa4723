import OutboxdConsumers
import OutboxdHTTP
import OutboxdKafka
import OutboxdOutbox
import OutboxdTasks

extension Configuration {
    /// The largest record of a task event without its `ce_source` header: a 200-character title
    /// and a 10000-character description, each character at most 6 bytes in JSON (`\u0001`), with
    /// 4 KiB for the other fields, the key and the other headers.
    static let largestTaskRecordBytes = (TaskValidation.maxTitleLength + TaskValidation.maxDescriptionLength) * 6 + 4096

    /// What the settings must satisfy beyond each value alone, asked of the libraries and this
    /// machine. `ConfigurationLoader.load` runs it for every command, so `check-config` refuses
    /// exactly what `serve`, `api`, `relay`, `consume`, `outbox` and `migrate` refuse (exit 78):
    /// - librdkafka's verdict on the producer's and a consumer's properties, as start-up makes
    ///   them (`RDKafkaConfigCheck`: each property set, then a client made with no brokers);
    /// - the largest task event with `EVENT_SOURCE` within librdkafka's `message.max.bytes`,
    ///   `RELAY_BATCH_BYTES` at least that (else a row Kafka takes would be parked as too large for
    ///   a claim), and `RELAY_BATCH_SIZE` within its `queue.buffering.max.messages`;
    /// - the built-in consumers only beside a Debezium converter that leaves the payload as it is;
    /// - the hosts of `HTTP_LISTEN` and `METRICS_LISTEN` are addresses of this machine (bound on
    ///   a port the system picks and closed; their ports are not tried, so a running daemon
    ///   holding them does not make this fail).
    public func checkWithLibrariesAndHost() throws(ConfigurationError) {
        if relay.format.shape == .debezium, relay.format.debeziumConverter != .string, !consumers.enabled.isEmpty {
            throw ConfigurationError(key: "OUTBOX_DEBEZIUM_CONVERTER", """
                \(relay.format.debeziumConverter.rawValue) wraps each task event's JSON in a string, which the built-in consumers \
                (CONSUMERS=\(consumers.enabled.joined(separator: ","))) cannot read as an event; set CONSUMERS=none, or use string
                """)
        }
        if relay.format.shape == .debezium, relay.format.debeziumRouter.additionalFields.contains(where: { $0.placement == .envelope }), !consumers.enabled.isEmpty {
            throw ConfigurationError(key: "OUTBOX_DEBEZIUM_ADDITIONAL_PLACEMENT", """
                an envelope placement wraps each task event's JSON in a struct, which the built-in consumers \
                (CONSUMERS=\(consumers.enabled.joined(separator: ","))) cannot read as an event; set CONSUMERS=none, or place the fields in headers
                """)
        }
        if relay.format.shape == .debezium, relay.format.debeziumRouter.expandJSONPayload, relay.format.debeziumConverter == .string, !consumers.enabled.isEmpty {
            throw ConfigurationError(key: "OUTBOX_DEBEZIUM_EXPAND_JSON_PAYLOAD", """
                under OUTBOX_DEBEZIUM_CONVERTER=string an expanded payload is a Kafka Connect struct's text (Struct{…}), which the built-in consumers \
                (CONSUMERS=\(consumers.enabled.joined(separator: ","))) cannot read as an event; set CONSUMERS=none
                """)
        }
        let client = kafkaClient(bootstrapServers: kafka.isEmbedded ? "" : kafka.bootstrapServers)
        let producer = try librdkafkaCheck(.producer, client.producerProperties(messageTimeout: relay.deliveryTimeout, topicPolicy: kafka.topics),
                                           read: ["message.max.bytes", "queue.buffering.max.messages"])
        let group = consumers.groupPrefix + (consumers.enabled.first ?? ConsumerConfiguration.all[0])
        _ = try librdkafkaCheck(.consumer, client.consumerProperties(groupID: group, fromBeginning: true, storeOffsetsAfterProcessing: true), read: [])

        let source = relay.format.source.utf8.count
        if let text = producer["message.max.bytes"], let limit = Int(text), limit < Self.largestTaskRecordBytes + source {
            throw ConfigurationError(key: userKey(of: "message.max.bytes"), """
                librdkafka's message.max.bytes is \(limit), but a task event can take \(Self.largestTaskRecordBytes + source) bytes \
                (\(Self.largestTaskRecordBytes) with a 200-character title and a 10000-character description, and EVENT_SOURCE's \(source)); \
                such events would be parked as too large
                """)
        }
        if let text = producer["message.max.bytes"], let limit = Int(text), relay.batchBytes < limit {
            throw ConfigurationError(key: "RELAY_BATCH_BYTES", """
                \(relay.batchBytes) is below librdkafka's message.max.bytes (\(limit), \(userKey(of: "message.max.bytes"))):                 a payload Kafka would take would be parked as too large for a claim; raise RELAY_BATCH_BYTES
                """)
        }
        if let text = producer["queue.buffering.max.messages"], let limit = Int(text), limit < relay.batchSize {
            throw ConfigurationError(key: "RELAY_BATCH_SIZE", """
                a batch of \(relay.batchSize) does not fit librdkafka's queue.buffering.max.messages (\(limit), \
                \(userKey(of: "queue.buffering.max.messages"))); lower RELAY_BATCH_SIZE or raise that
                """)
        }

        for (key, listener) in [("HTTP_LISTEN", http), ("METRICS_LISTEN", metricsHTTP)] {
            guard let listener else { continue }
            do throws(HTTPServerError) {
                try listener.checkHostIsLocal()
            } catch {
                throw ConfigurationError(key: key, error.description)
            }
        }
    }

    /// What the producer and the consumers are made with (start-up) and checked with (here): the
    /// `KAFKA_*` properties, after what the record shape derives for the producer.
    func kafkaClient(bootstrapServers: String) -> KafkaClientConfiguration {
        KafkaClientConfiguration(bootstrapServers: bootstrapServers, properties: kafka.properties,
                                 producerDerived: relay.format.shape.producerProperties)
    }

    /// `RDKafkaConfigCheck.check`, its refusal as a `ConfigurationError` naming the key, with
    /// librdkafka's text cut and without any secret value.
    private func librdkafkaCheck(_ client: RDKafkaConfigCheck.Client, _ properties: [(name: String, value: String, key: String)],
                                 read: [String]) throws(ConfigurationError) -> [String: String] {
        do throws(RDKafkaConfigCheck.Refusal) {
            return try RDKafkaConfigCheck.check(client, properties, read: read)
        } catch {
            let secrets = kafka.properties.filter { Redaction.isSecretKey($0.key) }.map(\.value)
            let reason = Redaction.excerpt(Redaction.scrub(error.reason, secrets: secrets), limit: 200)
            let role = client == .producer ? "producer" : "consumer"
            guard let key = error.key, let property = error.property else {
                throw ConfigurationError(key: nil, "KAFKA_*: librdkafka refuses the \(role)'s properties together: \(reason)")
            }
            throw ConfigurationError(key: key, "librdkafka's \(role) refuses \(Redaction.excerpt(property, limit: 64)): \(reason)")
        }
    }

    /// The `KAFKA_*` key that sets librdkafka `property`, or the one that would.
    private func userKey(of property: String) -> String {
        kafka.properties.last { $0.name == property }?.key
            ?? "KAFKA_" + property.uppercased().replacingOccurrences(of: ".", with: "_")
    }
}
