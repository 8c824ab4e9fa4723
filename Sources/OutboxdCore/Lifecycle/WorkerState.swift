/// The lifecycle of one worker as a value: idle → running → stopping → stopped, or failed; a
/// stop before start goes straight to stopped. The calls say what the caller must do, so the
/// threads that start, stop and end a worker agree on it without further checks (unit-tested by
/// plain calls in `WorkerStateTests`).
public struct WorkerState: Sendable, Equatable {
    public enum Phase: Sendable, Equatable {
        case idle, running, stopping, stopped
        case failed(String)
    }

    public private(set) var phase: Phase = .idle

    public init() {}

    /// True when the work must be started now (the first start, and no stop before it).
    public mutating func start() -> Bool {
        guard phase == .idle else { return false }
        phase = .running
        return true
    }

    /// What a `stop` call must do.
    public enum StopAction: Sendable, Equatable {
        /// Nothing: never started, already ended, or another stop is under way.
        case none
        /// Signal the work to stop and wait for its end.
        case signalAndWait
    }

    public mutating func stop() -> StopAction {
        switch phase {
        case .idle:
            phase = .stopped
            return .none
        case .running:
            phase = .stopping
            return .signalAndWait
        case .stopping, .stopped, .failed:
            return .none
        }
    }

    /// The work ended; true when it ended by itself (no stop asked for it), which its owner must hear of.
    public mutating func ended(_ end: WorkerEnd) -> Bool {
        let byItself = phase == .running
        switch end {
        case .returned: phase = .stopped
        case .failed(let why): phase = .failed(why)
        }
        return byItself
    }

    /// Whether the work is running or stopping (its thread may still be alive).
    public var isActive: Bool { phase == .running || phase == .stopping }
}
