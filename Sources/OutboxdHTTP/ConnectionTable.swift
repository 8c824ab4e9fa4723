/// The HTTP server's open connections, as a pure value: which are admitted (the total and
/// per-address limits), where each is in its request, and which have outlived the request
/// deadline. No I/O and no clock reads: the server passes `now` in and acts on what comes back.
///
/// A connection is *waiting* from the moment it opens, or its last response was sent, until its
/// request (head and body) is complete; a waiting connection must complete its request within
/// `requestTimeout`, however steadily it trickles bytes. While its request is handled and its
/// response sent, no deadline applies (the idle timeout still does).
public struct ConnectionTable: Sendable {
    /// Why a new connection was refused.
    public enum Refusal: String, Sendable, CaseIterable {
        case limit = "connection_limit"
        case perAddress = "per_address_limit"
    }

    public struct Limits: Sendable {
        public var maxConnections: Int
        /// 0: no per-address limit.
        public var maxPerAddress: Int
        public var requestTimeout: Duration

        public init(maxConnections: Int, maxPerAddress: Int, requestTimeout: Duration) {
            self.maxConnections = maxConnections
            self.maxPerAddress = maxPerAddress
            self.requestTimeout = requestTimeout
        }
    }

    private struct Entry {
        let address: ClientAddress
        /// Set while the connection waits for a complete request.
        var waitingSince: ContinuousClock.Instant?
    }

    public let limits: Limits
    private var entries: [Int: Entry] = [:]
    private var perAddress: [ClientAddress: Int] = [:]
    private var nextID = 0
    public private(set) var refused: [Refusal: Int] = [:]
    public private(set) var timedOut = 0

    public init(limits: Limits) {
        self.limits = limits
    }

    public var count: Int { entries.count }

    /// Whether a connection from `address` may open now; a refusal is counted.
    public mutating func admit(_ address: ClientAddress) -> Refusal? {
        let refusal: Refusal?
        if isFull {
            refusal = .limit
        } else if limits.maxPerAddress > 0, perAddress[address, default: 0] >= limits.maxPerAddress {
            refusal = .perAddress
        } else {
            refusal = nil
        }
        if let refusal { refused[refusal, default: 0] += 1 }
        return refusal
    }

    /// Records an open connection; returns its id.
    public mutating func opened(_ address: ClientAddress, now: ContinuousClock.Instant) -> Int {
        nextID += 1
        entries[nextID] = Entry(address: address, waitingSince: now)
        perAddress[address, default: 0] += 1
        return nextID
    }

    public mutating func closed(_ id: Int) {
        guard let entry = entries.removeValue(forKey: id) else { return }
        let left = perAddress[entry.address, default: 1] - 1
        perAddress[entry.address] = left > 0 ? left : nil
    }

    /// The request is complete and goes to its handler: no deadline until its response is sent.
    public mutating func requestComplete(_ id: Int) {
        entries[id]?.waitingSince = nil
    }

    /// The response was sent (or the request ended otherwise): the connection waits for the next.
    public mutating func responseSent(_ id: Int, now: ContinuousClock.Instant) {
        entries[id]?.waitingSince = now
    }

    /// Connections whose request is not complete `requestTimeout` after they began waiting; each
    /// is returned once (and counted), since the server closes it.
    public mutating func expired(now: ContinuousClock.Instant) -> [Int] {
        var ids: [Int] = []
        for (id, entry) in entries {
            if let since = entry.waitingSince, now - since >= limits.requestTimeout { ids.append(id) }
        }
        for id in ids { entries[id]?.waitingSince = nil }
        timedOut += ids.count
        return ids
    }

    /// Whether a new connection would be refused for the total limit.
    public var isFull: Bool { entries.count >= limits.maxConnections }
}
