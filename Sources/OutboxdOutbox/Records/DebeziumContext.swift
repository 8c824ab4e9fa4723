import Foundation
import OutboxdCore

/// The headers Debezium ≥ 3.2 puts before `id` on every record (`extended.headers.enabled`,
/// default true), sent in the Debezium shape so a consumer that reads them finds them.
public struct DebeziumContext: Sendable {
    static let prefix = "__debezium.context."
    static let names = ["connectorLogicalName", "taskId", "connectorName", "runId"].map { prefix + $0 }

    /// Send them. Config key `OUTBOX_DEBEZIUM_CONTEXT_HEADERS`; default `yes`.
    public var enabled = true { didSet { headers = Self.headers(self) } }
    /// `__debezium.context.connectorLogicalName`: the connector's `topic.prefix`. Config key
    /// `OUTBOX_DEBEZIUM_LOGICAL_NAME`; default `outboxd`.
    public var logicalName = "outboxd" { didSet { headers = Self.headers(self) } }
    /// `__debezium.context.runId`: new for each start, like a connector's.
    public var runID = UUID().lowercaseString { didSet { headers = Self.headers(self) } }

    /// In Debezium's order; `taskId` is `0` and `connectorName` `postgresql`, as its PostgreSQL
    /// connector sends. Built when a setting changes, not per record.
    private(set) var headers: [(name: String, value: [UInt8])] = []

    public init() {
        headers = Self.headers(self)
    }

    private static func headers(_ context: DebeziumContext) -> [(name: String, value: [UInt8])] {
        guard context.enabled else { return [] }
        return zip(names, [context.logicalName, "0", "postgresql", context.runID]).map { ($0, Array($1.utf8)) }
    }
}
