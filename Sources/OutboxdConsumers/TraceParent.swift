/// Reads a W3C Trace Context `traceparent` header: `<version>-<trace-id>-<parent-id>-<flags>`,
/// lowercase hex of 2, 32, 16 and 2 digits (version 00 ends there; a later version may add
/// `-`-separated fields, which are ignored). Version `ff` and all-zero ids are invalid.
enum TraceParent {
    /// The trace id, or nil when `header` is not a valid traceparent.
    static func traceID(of header: String) -> String? {
        let bytes = Array(header.utf8)
        guard bytes.count >= 55, bytes[2] == dash, bytes[35] == dash, bytes[52] == dash else { return nil }
        let version = bytes[0..<2], traceID = bytes[3..<35], parentID = bytes[36..<52], flags = bytes[53..<55]
        guard [version, traceID, parentID, flags].allSatisfy({ $0.allSatisfy(isLowercaseHex) }) else { return nil }
        guard version != [UInt8(ascii: "f"), UInt8(ascii: "f")][...] else { return nil }
        if version == [UInt8(ascii: "0"), UInt8(ascii: "0")][...] {
            guard bytes.count == 55 else { return nil }
        } else if bytes.count > 55 {
            guard bytes[55] == dash else { return nil }
        }
        guard traceID.contains(where: { $0 != zero }), parentID.contains(where: { $0 != zero }) else { return nil }
        return String(decoding: traceID, as: UTF8.self)
    }

    private static let dash = UInt8(ascii: "-")
    private static let zero = UInt8(ascii: "0")

    private static func isLowercaseHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
}
