import OutboxdCore

/// One entry of Debezium's `table.fields.additional.placement` (`column:placement[:alias]`): a
/// column of the view sent as a header, beside the payload in the value (an envelope), or as the
/// record's partition.
public struct DebeziumAdditionalField: Sendable, Equatable {
    public enum Placement: String, Sendable, CaseIterable {
        case header, envelope, partition
    }

    public let column: String
    public let placement: Placement
    /// The header's or the envelope field's name; the column's by default.
    public let alias: String

    public init(column: String, placement: Placement, alias: String) {
        self.column = column
        self.placement = placement
        self.alias = alias
    }

    /// Why a setting is refused: the text names the entry and what is allowed.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// Parses the setting as Debezium does: entries split at `,`, parts at `:`, each trimmed, the
    /// placement without case. Unlike Debezium, an entry it would fail on at run time (no
    /// placement, an unknown one, more than three parts) is refused here.
    public static func parse(_ setting: String) throws(Invalid) -> [DebeziumAdditionalField] {
        var fields: [DebeziumAdditionalField] = []
        for entry in setting.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = entry.split(separator: ":", omittingEmptySubsequences: false).map { String($0.trimmingOWS()) }
            let shown = "\"\(entry.trimmingOWS().prefix(64))\""
            guard parts.count == 2 || parts.count == 3 else {
                throw Invalid(description: "\(shown) is not column:placement or column:placement:alias")
            }
            guard isColumnName(parts[0]) else {
                throw Invalid(description: "\(shown): \"\(parts[0].prefix(64))\" is not a column name (a-z, 0-9, _)")
            }
            guard let placement = Placement(rawValue: parts[1].lowercased()) else {
                throw Invalid(description: "\(shown): the placement is one of header, envelope, partition")
            }
            let alias = parts.count == 3 ? parts[2] : parts[0]
            guard !alias.isEmpty, alias.utf8.count <= 255, alias.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
                throw Invalid(description: "\(shown): the alias must be 1 to 255 bytes without control characters")
            }
            fields.append(DebeziumAdditionalField(column: parts[0], placement: placement, alias: alias))
        }
        return fields
    }

    /// A column name of the view: what `outboxd_debezium.columns` allows, and Debezium's own.
    public static func isColumnName(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 63, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return name.utf8.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "_") }
    }
}
