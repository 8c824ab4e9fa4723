extension Configuration {
    /// Whether these parts start Kafka: the relay, and consumers when any is enabled (as
    /// `Daemon.start` does; `outboxd api` alone never does).
    func startsKafka(_ parts: Set<Daemon.Part>) -> Bool {
        parts.contains(.relay) || (parts.contains(.consumers) && !consumers.enabled.isEmpty)
    }

    /// An installed daemon never publishes into an in-process cluster by accident: under systemd
    /// (`INVOCATION_ID` set) a process that would start Kafka on `KAFKA_BOOTSTRAP_SERVERS=embedded`
    /// refuses to start (exit 78) unless `KAFKA_ALLOW_EMBEDDED=yes`. Checked before any part starts.
    func refuseEmbeddedKafkaUnderSystemd(parts: Set<Daemon.Part>, environment: [String: String], configPath: String?) throws(DaemonError) {
        guard kafka.isEmbedded, !kafka.allowEmbedded, !(environment["INVOCATION_ID"] ?? "").isEmpty, startsKafka(parts) else { return }
        throw DaemonError(.configuration, """
            KAFKA_BOOTSTRAP_SERVERS is embedded: an in-process mock cluster whose events vanish on restart, \
            and that a separate outboxd relay/consume process cannot share; under systemd (INVOCATION_ID is set) \
            set KAFKA_BOOTSTRAP_SERVERS=host:port,… in \(configPath ?? "/etc/outboxd/outboxd.conf"), \
            or KAFKA_ALLOW_EMBEDDED=yes to use it anyway
            """)
    }
}
