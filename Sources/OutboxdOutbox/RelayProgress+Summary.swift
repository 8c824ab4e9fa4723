import OutboxdKafka
import OutboxdPostgres

extension RelayProgress {
    /// A relay error as `/readyz` shows it: a classification (`database unreachable`, `Kafka
    /// _TRANSPORT`), never the message, which may hold server addresses, users or row text.
    static func safeSummary(of error: any Error) -> String {
        switch error {
        case let error as PostgresError: "database \(error.classification)"
        case let error as KafkaError: "Kafka \(error.code.name)"
        default: "internal error"
        }
    }
}
