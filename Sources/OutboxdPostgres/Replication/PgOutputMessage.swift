/// A log sequence number: a position in PostgreSQL's write-ahead log.
public struct LSN: RawRepresentable, Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static func < (lhs: LSN, rhs: LSN) -> Bool { lhs.rawValue < rhs.rawValue }

    /// As PostgreSQL prints one: `16/B374D848`.
    public var description: String { String(rawValue >> 32, radix: 16, uppercase: true) + "/" + String(rawValue & 0xFFFF_FFFF, radix: 16, uppercase: true) }
}

/// One message of PostgreSQL's logical replication protocol as `pgoutput` writes it (protocol
/// versions 1 to 4): what a `XLogData` message of the replication stream carries.
public enum PgOutputMessage: Sendable, Equatable {
    /// A transaction starts. `commitTime`: µs since 2000-01-01 UTC (PostgreSQL's epoch).
    case begin(finalLSN: LSN, commitTime: Int64, xid: UInt32)
    /// The transaction committed at `commitLSN`; the stream continues after `endLSN`.
    case commit(flags: UInt8, commitLSN: LSN, endLSN: LSN, commitTime: Int64)
    case origin(commitLSN: LSN, name: String)
    /// A table's shape, sent before the first change to it in a session and after it changes.
    case relation(PgOutputRelation)
    case type(xid: UInt32?, oid: UInt32, namespace: String, name: String)
    case insert(xid: UInt32?, relation: UInt32, new: [PgOutputValue])
    /// `old`: the key (`K`) or whole old row (`O`) when the table's replica identity sends it.
    case update(xid: UInt32?, relation: UInt32, old: [PgOutputValue]?, oldIsKey: Bool, new: [PgOutputValue])
    case delete(xid: UInt32?, relation: UInt32, old: [PgOutputValue], oldIsKey: Bool)
    case truncate(xid: UInt32?, options: UInt8, relations: [UInt32])
    /// `pg_logical_emit_message`; `transactional` ones come between Begin and Commit.
    case message(xid: UInt32?, transactional: Bool, lsn: LSN, prefix: String, content: [UInt8])
    /// Protocol version 2 and later, with `streaming` on: a large transaction sent in parts.
    case streamStart(xid: UInt32, firstSegment: Bool)
    case streamStop
    case streamCommit(xid: UInt32, flags: UInt8, commitLSN: LSN, endLSN: LSN, commitTime: Int64)
    case streamAbort(xid: UInt32, subxid: UInt32)
}

/// A table as a Relation message describes it.
public struct PgOutputRelation: Sendable, Equatable {
    public struct Column: Sendable, Equatable {
        /// Part of the replica identity (the key).
        public let isKey: Bool
        public let name: String
        public let typeOID: UInt32
        public let typeModifier: Int32

        public init(isKey: Bool, name: String, typeOID: UInt32, typeModifier: Int32) {
            self.isKey = isKey
            self.name = name
            self.typeOID = typeOID
            self.typeModifier = typeModifier
        }
    }

    public let xid: UInt32?
    public let oid: UInt32
    /// `""` for `pg_catalog`.
    public let namespace: String
    public let name: String
    /// `d` default, `n` nothing, `f` full, `i` index.
    public let replicaIdentity: UInt8
    public let columns: [Column]

    public init(xid: UInt32?, oid: UInt32, namespace: String, name: String, replicaIdentity: UInt8, columns: [Column]) {
        self.xid = xid
        self.oid = oid
        self.namespace = namespace
        self.name = name
        self.replicaIdentity = replicaIdentity
        self.columns = columns
    }
}

/// A column's value in a row of an Insert, Update or Delete.
public enum PgOutputValue: Sendable, Equatable {
    case null
    /// A TOASTed value that did not change (Update only): not sent.
    case unchangedToast
    /// The value in its text form (what `::text` prints).
    case text([UInt8])
    /// The value in its binary form (the `binary` option).
    case binary([UInt8])
}
