/// Why the daemon could not start; `exitCode` follows sysexits.h so scripts and systemd can tell
/// a bad configuration (78) from a dependency that is down (69).
public struct DaemonError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        case usage, configuration, unavailable, failure
        /// A part ended while serving (the relay after a fatal producer error): 75, try again.
        case partFailed
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
        case .partFailed: 75
        }
    }
}
