import Synchronization

/// The exchanges of one or more `HTTPTestClient`s, in the order they completed; `onRecord` sees
/// each one as it is recorded, on the thread of the request (so a test's issue is its own).
public final class HTTPExchangeRecorder: Sendable {
    private let recorded = Mutex<[RecordedExchange]>([])
    private let onRecord: @Sendable (RecordedExchange) -> Void

    public init(onRecord: @escaping @Sendable (RecordedExchange) -> Void = { _ in }) {
        self.onRecord = onRecord
    }

    public func record(_ exchange: RecordedExchange) {
        recorded.withLock { $0.append(exchange) }
        onRecord(exchange)
    }

    public var exchanges: [RecordedExchange] { recorded.withLock { $0 } }
}
