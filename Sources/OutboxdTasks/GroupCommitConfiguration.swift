/// Settings of the group commit of `POST /tasks`.
public struct GroupCommitConfiguration: Sendable {
    /// Collect concurrent creates into shared transactions. Config key `GROUP_COMMIT`; default on.
    public var enabled = true
    /// Most tasks written by one transaction. Config key `GROUP_COMMIT_MAX_BATCH`; default 128.
    public var maxBatch = 128
    /// Transactions in flight at once (each on a pooled connection). Config key
    /// `GROUP_COMMIT_WRITERS`; default 2: one transaction forms while the other commits. More
    /// writers split the queue into smaller transactions (bench/api.sh, 64 connections: 4 writers
    /// 7.3 tasks per transaction, 1.37× pgbench; 2 writers 13.4, 2.18×; 1 writer 28.9, 2.05×; at
    /// 256 connections one writer filled GROUP_COMMIT_MAX_BATCH, two 62 of its 128).
    public var writers = 2
    /// Extra wait for more requests before a batch that is not full is written; 0 writes what
    /// is queued at once (requests arriving meanwhile form the next batch). Config key
    /// `GROUP_COMMIT_WINDOW`; default 0 ms.
    public var window: Duration = .zero
    /// Times a batch that failed for a reason of no row (a lock wait, a timeout, a lost
    /// connection) is sent again, after 20 ms, then 40 ms, …, before its requests get 503. Config
    /// key `GROUP_COMMIT_RETRIES`; default 2.
    public var retries = 2

    public init() {}
}
