import OutboxdCore

/// What group commit counts for `/metrics` (issue #25): how many tasks each transaction holds,
/// how long its write takes, and the writes that did not go as one.
public struct GroupCommitMetrics: Sendable {
    public let batchTasks = Histogram("outboxd_group_commit_batch_tasks",
                                      "Tasks per group-commit transaction (one INSERT of tasks and events, and its COMMIT).",
                                      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024])
    public let writeSeconds = Histogram("outboxd_group_commit_write_seconds",
                                        "Time of a group-commit write that committed: its statement and COMMIT, the WAL flush included.",
                                        buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5])
    public let writes = Counter("outboxd_group_commit_writes_total",
                                "Group-commit writes by result: committed; retried (failed for a reason of no row, sent again); given_up (its requests answered 503); task_alone (a task written in its own transaction after its batch failed on a row).",
                                labels: ["result"])

    public init() {}

    public var families: [any MetricsCollector] { [batchTasks, writeSeconds, writes] }
}
