/// A `bytea` value, in the text format both ways (`\x` then two hex digits per byte).
public struct PostgresBytes: PostgresDecodable, PostgresParameter, Sendable, Equatable {
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public init?(postgresText: String) {
        var text = postgresText
        guard let bytes = text.withUTF8({ Self.decodeHex($0) }) else { return nil }
        self.bytes = bytes
    }

    public var postgresText: String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8](repeating: 0, count: 2 + 2 * bytes.count)
        text[0] = UInt8(ascii: "\\")
        text[1] = UInt8(ascii: "x")
        for (j, byte) in bytes.enumerated() {
            text[2 + 2 * j] = digits[Int(byte >> 4)]
            text[3 + 2 * j] = digits[Int(byte & 0xF)]
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Hex digit → value; 0xFF for any other byte.
    private static let nibbles: [UInt8] = (0...255).map { byte -> UInt8 in
        switch UInt8(byte) {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt8(byte) - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt8(byte) - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt8(byte) - UInt8(ascii: "A") + 10
        default: 0xFF
        }
    }

    static func decodeHex(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard text.count >= 2, text[0] == UInt8(ascii: "\\"), text[1] == UInt8(ascii: "x"), text.count % 2 == 0 else { return nil }
        let count = (text.count - 2) / 2
        var invalid: UInt8 = 0
        let bytes = nibbles.withUnsafeBufferPointer { table in
            [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                for j in 0..<count {
                    let high = table[Int(text[2 + 2 * j])], low = table[Int(text[3 + 2 * j])]
                    invalid |= (high | low) & 0xF0
                    buffer[j] = high << 4 | low
                }
                initialized = count
            }
        }
        return invalid == 0 ? bytes : nil
    }
}
