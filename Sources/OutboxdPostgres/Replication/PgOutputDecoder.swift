/// Decodes `pgoutput` messages from their bytes: pure, every read bounds-checked, so a message
/// that is cut short or malformed is a `PgOutputError`, never a crash (`PgOutputDecoderTests`
/// feeds it mutated server bytes).
///
/// It tracks whether a stream (Stream Start … Stream Stop) is open, since the messages inside one
/// carry their transaction id; decode a connection's messages in order with one decoder.
public struct PgOutputDecoder: Sendable {
    public private(set) var inStream = false

    public init() {}

    public mutating func decode(_ bytes: [UInt8]) throws(PgOutputError) -> PgOutputMessage {
        var reader = ByteReader(bytes)
        let kind = try reader.byte()
        reader.kind = kind
        let message: PgOutputMessage
        switch kind {
        case UInt8(ascii: "B"):
            message = .begin(finalLSN: LSN(rawValue: try reader.uint64()), commitTime: Int64(bitPattern: try reader.uint64()), xid: try reader.uint32())
        case UInt8(ascii: "C"):
            message = .commit(flags: try reader.byte(), commitLSN: LSN(rawValue: try reader.uint64()), endLSN: LSN(rawValue: try reader.uint64()),
                              commitTime: Int64(bitPattern: try reader.uint64()))
        case UInt8(ascii: "O"):
            message = .origin(commitLSN: LSN(rawValue: try reader.uint64()), name: try reader.cString())
        case UInt8(ascii: "R"):
            let xid = try streamXID(&reader)
            let oid = try reader.uint32()
            let namespace = try reader.cString()
            let name = try reader.cString()
            let identity = try reader.byte()
            let count = try reader.count16()
            var columns: [PgOutputRelation.Column] = []
            columns.reserveCapacity(count)
            for _ in 0..<count {
                let flags = try reader.byte()
                columns.append(.init(isKey: flags & 1 == 1, name: try reader.cString(), typeOID: try reader.uint32(),
                                     typeModifier: Int32(bitPattern: try reader.uint32())))
            }
            message = .relation(PgOutputRelation(xid: xid, oid: oid, namespace: namespace, name: name, replicaIdentity: identity, columns: columns))
        case UInt8(ascii: "Y"):
            message = .type(xid: try streamXID(&reader), oid: try reader.uint32(), namespace: try reader.cString(), name: try reader.cString())
        case UInt8(ascii: "I"):
            let xid = try streamXID(&reader)
            let relation = try reader.uint32()
            try reader.expect(UInt8(ascii: "N"))
            message = .insert(xid: xid, relation: relation, new: try reader.tuple())
        case UInt8(ascii: "U"):
            let xid = try streamXID(&reader)
            let relation = try reader.uint32()
            var old: [PgOutputValue]?
            var oldIsKey = false
            var marker = try reader.byte()
            if marker == UInt8(ascii: "K") || marker == UInt8(ascii: "O") {
                oldIsKey = marker == UInt8(ascii: "K")
                old = try reader.tuple()
                marker = try reader.byte()
            }
            guard marker == UInt8(ascii: "N") else { throw reader.error(.unknownKind, "update tuple marker \(marker)", back: 1) }
            message = .update(xid: xid, relation: relation, old: old, oldIsKey: oldIsKey, new: try reader.tuple())
        case UInt8(ascii: "D"):
            let xid = try streamXID(&reader)
            let relation = try reader.uint32()
            let marker = try reader.byte()
            guard marker == UInt8(ascii: "K") || marker == UInt8(ascii: "O") else { throw reader.error(.unknownKind, "delete tuple marker \(marker)", back: 1) }
            message = .delete(xid: xid, relation: relation, old: try reader.tuple(), oldIsKey: marker == UInt8(ascii: "K"))
        case UInt8(ascii: "T"):
            let xid = try streamXID(&reader)
            let count = try reader.count32()
            let options = try reader.byte()
            guard count <= reader.remaining / 4 else { throw reader.error(.truncated, "\(count) relations") }
            var relations: [UInt32] = []
            relations.reserveCapacity(count)
            for _ in 0..<count { relations.append(try reader.uint32()) }
            message = .truncate(xid: xid, options: options, relations: relations)
        case UInt8(ascii: "M"):
            let xid = try streamXID(&reader)
            let flags = try reader.byte()
            let lsn = LSN(rawValue: try reader.uint64())
            let prefix = try reader.cString()
            let length = try reader.count32()
            message = .message(xid: xid, transactional: flags & 1 == 1, lsn: lsn, prefix: prefix, content: try reader.bytes(length))
        case UInt8(ascii: "S"):
            message = .streamStart(xid: try reader.uint32(), firstSegment: try reader.byte() == 1)
            inStream = true
        case UInt8(ascii: "E"):
            message = .streamStop
            inStream = false
        case UInt8(ascii: "c"):
            message = .streamCommit(xid: try reader.uint32(), flags: try reader.byte(), commitLSN: LSN(rawValue: try reader.uint64()),
                                    endLSN: LSN(rawValue: try reader.uint64()), commitTime: Int64(bitPattern: try reader.uint64()))
        case UInt8(ascii: "A"):
            // Protocol 4 adds the abort's LSN and time (parallel apply): read past them.
            message = .streamAbort(xid: try reader.uint32(), subxid: try reader.uint32())
            if reader.remaining == 16 { _ = try reader.bytes(16) }
        default:
            throw reader.error(.unknownKind, "message kind", back: 1)
        }
        guard reader.remaining == 0 else { throw reader.error(.trailingBytes, "\(reader.remaining) bytes after the message") }
        return message
    }

    private func streamXID(_ reader: inout ByteReader) throws(PgOutputError) -> UInt32? {
        inStream ? try reader.uint32() : nil
    }
}

/// Big-endian reads over a message's bytes, each checked against its end.
struct ByteReader {
    private let bytes: [UInt8]
    private(set) var offset = 0
    var kind: UInt8?

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    func error(_ code: PgOutputError.Code, _ detail: String, back: Int = 0) -> PgOutputError {
        PgOutputError(code, kind: kind, offset: offset - back, detail)
    }

    mutating func byte() throws(PgOutputError) -> UInt8 {
        guard offset < bytes.count else { throw error(.truncated, "a byte") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func expect(_ value: UInt8) throws(PgOutputError) {
        let read = try byte()
        guard read == value else { throw error(.unknownKind, "expected \(value), read \(read)", back: 1) }
    }

    mutating func uint16() throws(PgOutputError) -> UInt16 {
        guard remaining >= 2 else { throw error(.truncated, "an Int16") }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func uint32() throws(PgOutputError) -> UInt32 {
        guard remaining >= 4 else { throw error(.truncated, "an Int32") }
        var value: UInt32 = 0
        for index in offset..<(offset + 4) { value = value << 8 | UInt32(bytes[index]) }
        offset += 4
        return value
    }

    mutating func uint64() throws(PgOutputError) -> UInt64 {
        guard remaining >= 8 else { throw error(.truncated, "an Int64") }
        var value: UInt64 = 0
        for index in offset..<(offset + 8) { value = value << 8 | UInt64(bytes[index]) }
        offset += 8
        return value
    }

    /// A non-negative Int16 count.
    mutating func count16() throws(PgOutputError) -> Int {
        let value = Int16(bitPattern: try uint16())
        guard value >= 0 else { throw error(.invalidLength, "count \(value)", back: 2) }
        return Int(value)
    }

    /// A non-negative Int32 length or count.
    mutating func count32() throws(PgOutputError) -> Int {
        let value = Int32(bitPattern: try uint32())
        guard value >= 0 else { throw error(.invalidLength, "length \(value)", back: 4) }
        return Int(value)
    }

    mutating func bytes(_ count: Int) throws(PgOutputError) -> [UInt8] {
        guard count <= remaining else { throw error(.truncated, "\(count) bytes, \(remaining) left") }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    /// A NUL-terminated UTF-8 string.
    mutating func cString() throws(PgOutputError) -> String {
        guard let end = bytes[offset...].firstIndex(of: 0) else { throw error(.invalidText, "a name without its NUL") }
        guard let text = String(validating: bytes[offset..<end], as: UTF8.self) else { throw error(.invalidText, "a name that is not UTF-8") }
        offset = end + 1
        return text
    }

    /// TupleData: an Int16 column count, then each column's kind and value.
    mutating func tuple() throws(PgOutputError) -> [PgOutputValue] {
        let count = try count16()
        guard count <= remaining else { throw error(.truncated, "\(count) columns") }
        var values: [PgOutputValue] = []
        values.reserveCapacity(count)
        for _ in 0..<count {
            switch try byte() {
            case UInt8(ascii: "n"): values.append(.null)
            case UInt8(ascii: "u"): values.append(.unchangedToast)
            case UInt8(ascii: "t"): values.append(.text(try bytes(try count32())))
            case UInt8(ascii: "b"): values.append(.binary(try bytes(try count32())))
            case let kind: throw error(.unknownKind, "column kind \(kind)", back: 1)
            }
        }
        return values
    }
}
