/// A message of a logical replication stream (the CopyBoth data of `START_REPLICATION`), from the
/// server: WAL data, which carries a `pgoutput` message, or a keepalive.
public enum ReplicationMessage: Sendable, Equatable {
    /// `w`: `data` starts at `start`; the server's WAL ends at `walEnd`. Times are µs since
    /// 2000-01-01 UTC.
    case xLogData(start: LSN, walEnd: LSN, serverTime: Int64, data: [UInt8])
    /// `k`: the server's WAL end; `replyRequested`: answer with a status update now, or the
    /// server ends the connection after `wal_sender_timeout`.
    case keepalive(walEnd: LSN, serverTime: Int64, replyRequested: Bool)

    public static func decode(_ bytes: [UInt8]) throws(PgOutputError) -> ReplicationMessage {
        var reader = ByteReader(bytes)
        let kind = try reader.byte()
        reader.kind = kind
        switch kind {
        case UInt8(ascii: "w"):
            let start = LSN(rawValue: try reader.uint64())
            let end = LSN(rawValue: try reader.uint64())
            let time = Int64(bitPattern: try reader.uint64())
            return .xLogData(start: start, walEnd: end, serverTime: time, data: try reader.bytes(reader.remaining))
        case UInt8(ascii: "k"):
            let message = ReplicationMessage.keepalive(walEnd: LSN(rawValue: try reader.uint64()), serverTime: Int64(bitPattern: try reader.uint64()),
                                                       replyRequested: try reader.byte() == 1)
            guard reader.remaining == 0 else { throw reader.error(.trailingBytes, "\(reader.remaining) bytes after the keepalive") }
            return message
        default:
            throw reader.error(.unknownKind, "replication message kind", back: 1)
        }
    }

    /// `r`, the standby status update: everything up to `flushed` is durable on this side (the
    /// server may recycle the WAL before it and confirms the slot there). Each position is the one
    /// after the last byte taken.
    public static func statusUpdate(written: LSN, flushed: LSN, applied: LSN, clientTime: Int64, replyRequested: Bool = false) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "r")]
        out.reserveCapacity(34)
        for value in [written.rawValue, flushed.rawValue, applied.rawValue, UInt64(bitPattern: clientTime)] {
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
        }
        out.append(replyRequested ? 1 : 0)
        return out
    }
}
