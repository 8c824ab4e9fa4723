/// Settings of the relay loop.
public struct RelayConfiguration: Sendable {
    /// Rows claimed per batch. Config key `RELAY_BATCH_SIZE`; default 500.
    public var batchSize = 500
    /// Payload bytes a claim may hold (the jsonb as text, or the bytea): rows past it wait for the
    /// next claim, and a row larger than this alone is parked unread. Bounds the relay's memory
    /// per batch (two batches may be in flight). Config key `RELAY_BATCH_BYTES`; default 16 MiB.
    public var batchBytes = 16 << 20
    /// Wait between polls when nothing wakes the relay. Config key `RELAY_POLL_INTERVAL`; default 1 s.
    public var pollInterval: Duration = .seconds(1)
    /// Under live load, how long after a claim the next one waits, so claims grow with the load
    /// instead of following every commit; only when the last claim held at least
    /// `RelayPipeline.lingerMinimumRows` rows arriving at `claimLingerAboveRate` or more (a
    /// backlog, a stop or a quiet outbox never waits). `0ms` turns it off. Config key
    /// `RELAY_CLAIM_LINGER`; default 10 ms (bench/api.sh: claims of 57 rows instead of 17, the
    /// relay's PostgreSQL work 23 µs per event instead of 50).
    public var claimLinger: Duration = .milliseconds(10)
    /// The arrival rate (events per second, from the last claim's rows and the time since the claim
    /// before it) from which claims linger. Config key `RELAY_CLAIM_LINGER_ABOVE`; default 2500
    /// (above the 2000/s at which commit → report p50 must stay under 2 ms).
    public var claimLingerAboveRate = 2500
    /// `poll`, or `wal`: a logical replication slot wakes the relay for every committed outbox
    /// insert (`WalSource`). Config key `RELAY_SOURCE`; default `poll`.
    public var source = RelaySource.poll
    /// The logical replication slot of `RELAY_SOURCE=wal` (created with `pgoutput` when missing).
    /// Config key `RELAY_WAL_SLOT`; default `outboxd`.
    public var walSlot = "outboxd"
    /// The publication the slot reads: inserts into `outbox` (created when missing). Config key
    /// `RELAY_WAL_PUBLICATION`; default `outboxd_outbox`.
    public var walPublication = "outboxd_outbox"
    /// Failed attempts before a row is parked. Config key `RELAY_MAX_ATTEMPTS`; default 10.
    public var maxAttempts = 10
    /// First retry delay (doubling up to `backoffMaximum`). Config key `RELAY_BACKOFF_BASE`; default 500 ms.
    public var backoffBase: Duration = .milliseconds(500)
    /// Longest retry delay. Config key `RELAY_BACKOFF_MAX`; default 5 min.
    public var backoffMaximum: Duration = .seconds(300)
    /// How long a batch waits for its delivery reports. Config key `RELAY_DELIVERY_TIMEOUT`; default 30 s.
    public var deliveryTimeout: Duration = .seconds(30)
    /// How long rows may be due with none delivered or parked before `/readyz` shows the relay
    /// stalled. Config key `RELAY_STALL_TIMEOUT`; default 30 s.
    public var stallTimeout: Duration = .seconds(30)
    /// Shards the outbox is split into; one relay owns each (advisory lock). Config key
    /// `RELAY_SHARDS`; default 1.
    public var shards = 1
    /// How long published rows are kept; 0 deletes them on publish. Config key
    /// `OUTBOX_RETENTION`; default 1 h.
    public var retention: Duration = .seconds(3600)
    /// How often a relay tries to take over shards no relay holds. Config key
    /// `RELAY_TAKEOVER_INTERVAL`; default 1 s.
    public var takeoverInterval: Duration = .seconds(1)
    /// How often the purge job (`OutboxPurge`, its own thread) deletes published rows past
    /// `retention`, in batches of 1000.
    public var purgeInterval: Duration = .seconds(10)
    /// Channel of the coalesced NOTIFY the API sends after commits.
    public var channel = "outboxd_outbox"
    /// The records' shape, the route of rows without a topic, and `ce_source` (config keys
    /// `OUTBOX_RECORD_SHAPE`, `OUTBOX_TOPIC_ROUTE`, `EVENT_SOURCE`).
    public var format = RecordFormat()

    public init() {}

    public var backoff: Backoff { Backoff(base: backoffBase, maximum: backoffMaximum) }
}
