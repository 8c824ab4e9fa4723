import CRdKafka

/// The librdkafka this process runs with.
public enum RDKafkaLibrary {
    /// `rd_kafka_version_str()`, e.g. `2.0.2`: the shared library loaded at run time (another
    /// one than the headers the build used when LD_LIBRARY_PATH points elsewhere).
    public static var version: String { String(cString: rd_kafka_version_str()) }
}
