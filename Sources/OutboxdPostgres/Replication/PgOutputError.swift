/// A replication message the decoder cannot read: which message, and where it stopped. The
/// description names the message kind and offset only, never the bytes (they hold row data).
public struct PgOutputError: Error, Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public enum Code: String, Sendable {
        /// The message ends before a field it announces.
        case truncated
        /// A message or tuple-column kind byte this decoder does not know.
        case unknownKind
        /// A length or count that cannot be right (negative).
        case invalidLength
        /// Bytes after the message's last field.
        case trailingBytes
        /// A text field that is not UTF-8, or a name without its terminating NUL.
        case invalidText
    }

    public let code: Code
    /// The message kind byte (`B`, `I`, `w`, …), when read.
    public let kind: UInt8?
    /// Where in the message the decoder stopped.
    public let offset: Int
    let detail: String

    init(_ code: Code, kind: UInt8?, offset: Int, _ detail: String) {
        self.code = code
        self.kind = kind
        self.offset = offset
        self.detail = detail
    }

    public var description: String {
        let name = kind.map { $0 >= 0x20 && $0 < 0x7F ? "'\(Character(Unicode.Scalar($0)))'" : "0x" + String($0, radix: 16) } ?? "empty"
        return "pgoutput message \(name): \(code.rawValue) at byte \(offset)"
    }

    public var debugDescription: String { "\(description): \(detail)" }
}
