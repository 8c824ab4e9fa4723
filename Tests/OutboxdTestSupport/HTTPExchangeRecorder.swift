import Synchronization

/// The exchanges of one or more `HTTPTestClient`s, in the order they completed.
public final class HTTPExchangeRecorder: Sendable {
    private let recorded = Mutex<[RecordedExchange]>([])

    public init() {}

    public func record(_ exchange: RecordedExchange) {
        recorded.withLock { $0.append(exchange) }
    }

    public var exchanges: [RecordedExchange] { recorded.withLock { $0 } }
}
