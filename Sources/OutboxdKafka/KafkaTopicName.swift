/// Kafka's rule for topic names: 1–249 of a-z A-Z 0-9 . _ -, neither "." nor "..", and none of
/// Kafka's internal topics, which refuse producers (the outbox's CHECK of migration 0012 says the same).
public enum KafkaTopicName {
    public static let rule = "1–249 of a-z A-Z 0-9 . _ -, not . or .. or an internal topic"
    public static let maxLength = 249

    /// The topics Kafka keeps for itself.
    public static let internalTopics: Set<String> = ["__consumer_offsets", "__transaction_state", "__cluster_metadata"]

    public static func isValid(_ name: String) -> Bool {
        (1...maxLength).contains(name.utf8.count) && hasOnlyAllowedCharacters(name) && name != "." && name != ".." && !internalTopics.contains(name)
    }

    public static func hasOnlyAllowedCharacters(_ text: String) -> Bool {
        text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"): true
            default: false
            }
        }
    }
}
