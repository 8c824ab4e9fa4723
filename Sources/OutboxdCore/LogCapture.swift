import Synchronization

/// Collects every log line written while it is open (as formatted, newline included), besides
/// stderr; for tests that assert what reaches the log. Lines of every thread are collected.
public final class LogCapture: Sendable {
    private static let open = Mutex<[ObjectIdentifier: LogCapture]>([:])
    private let collected = Mutex<[String]>([])

    public init() {
        Self.open.withLock { $0[ObjectIdentifier(self)] = self }
    }

    /// The lines so far.
    public var lines: [String] { collected.withLock { $0 } }

    /// Stops collecting; call it when done (the capture is held until then).
    public func close() {
        _ = Self.open.withLock { $0.removeValue(forKey: ObjectIdentifier(self)) }
    }

    static func record(_ line: String) {
        let captures = open.withLock { Array($0.values) }
        for capture in captures { capture.collected.withLock { $0.append(line) } }
    }
}
