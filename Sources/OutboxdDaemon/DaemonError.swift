/// Why the daemon could not start; `exitCode` follows sysexits.h so scripts and systemd can tell
/// a bad configuration (78) from a dependency that is down (69).
public struct DaemonError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        case usage, configuration, unavailable, failure
    }

    public let kind: Kind
    public let description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    public var exitCode: Int32 {
        switch kind {
        case .usage: 64
        case .configuration: 78
        case .unavailable: 69
        case .failure: 1
        }
    }
}
