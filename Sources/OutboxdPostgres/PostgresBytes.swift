/// A `bytea` value, decoded from the text result format (`\x` then two hex digits per byte).
public struct PostgresBytes: PostgresDecodable, Sendable, Equatable {
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public init?(postgresText: String) {
        var text = postgresText
        guard let bytes = text.withUTF8({ Self.decodeHex($0) }) else { return nil }
        self.bytes = bytes
    }

    static func decodeHex(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard text.count >= 2, text[0] == UInt8(ascii: "\\"), text[1] == UInt8(ascii: "x"), text.count % 2 == 0 else { return nil }
        @inline(__always) func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c &- UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c &- UInt8(ascii: "a") &+ 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c &- UInt8(ascii: "A") &+ 10
            default: nil
            }
        }
        let count = (text.count - 2) / 2
        var valid = true
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var i = 2
            for j in 0..<count {
                guard let high = nibble(text[i]), let low = nibble(text[i + 1]) else {
                    valid = false
                    break
                }
                buffer[j] = high << 4 | low
                i += 2
            }
            initialized = valid ? count : 0
        }
        return valid ? bytes : nil
    }
}
