import OutboxdKafka
import OutboxdPostgres

/// The outboxd release, and the C libraries' versions that `outboxd --version`, `check-config`
/// and `/readyz` show.
public enum OutboxdVersion {
    /// The one place the release number lives.
    public static let current = "0.13.0"

    /// `outboxd --version`: one line each, `outboxd 0.13.0`, `librdkafka 2.0.2`, `libpq 15.18`.
    public static var text: String {
        "outboxd \(current)\nlibrdkafka \(RDKafkaLibrary.version)\nlibpq \(PQLibrary.version)\n"
    }

    /// `check-config`'s first line: `# outboxd 0.13.0, librdkafka 2.0.2, libpq 15.18`.
    public static var comment: String {
        "# outboxd \(current), librdkafka \(RDKafkaLibrary.version), libpq \(PQLibrary.version)\n"
    }
}
