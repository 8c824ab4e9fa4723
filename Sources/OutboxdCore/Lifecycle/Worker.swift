/// Something the process starts and stops: a thread with a job (`WorkerThread`), or a part that
/// runs threads of its own (the HTTP server, the relay). A `WorkerGroup` starts workers in order
/// and stops them in reverse under one deadline.
public protocol Worker: AnyObject, Sendable {
    /// For logs and for the reason given when it ends by itself.
    var name: String { get }
    /// Starts the work. `ended` is called at most once, from any thread, when the work ends
    /// without having been asked to stop (it returned, or it failed).
    func start(ended: @escaping @Sendable (WorkerEnd) -> Void) throws
    /// Asks the work to stop and waits until it has ended, at most until `deadline` (nil: no
    /// bound); true when it ended in time. Before `start`, or a second time, returns at once.
    @discardableResult
    func stop(deadline: ContinuousClock.Instant?) -> Bool
}

extension Worker {
    /// Starts the work; an end by itself is only seen in its state (for tests and tools).
    public func start() throws { try start(ended: { _ in }) }

    /// Stops with no bound on the wait.
    public func stop() { stop(deadline: nil) }
}

/// How a worker's work ended.
public enum WorkerEnd: Sendable, Equatable, CustomStringConvertible {
    /// Its body returned.
    case returned
    /// Its body failed; a safe description of why.
    case failed(String)

    public var description: String {
        switch self {
        case .returned: "ended"
        case .failed(let why): "failed: \(why)"
        }
    }
}
