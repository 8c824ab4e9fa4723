/// The states of a queued outbox row (migration 0014: `outbox_queue`, one row per unpublished
/// outbox row) as SQL conditions on the queue, each written once and used by every statement that
/// asks for it. A partial index serves a statement only when the planner can prove, clause by
/// clause, that the statement's condition implies the index's predicate: these are those predicates
/// (or imply them), so keep them in step with the migrations. Unqualified columns: use them where
/// `outbox_queue` is the only (or innermost) table in scope.
public enum OutboxPredicate {
    /// Not parked: waiting for the relay, due now or backing off. The predicate of
    /// `outbox_queue_ready_idx`, which holds these rows in id order.
    public static let ready = "parked_at IS NULL"

    /// Ready rows whose next attempt has come (or never failed). Add to `ready`.
    public static let due = "(next_attempt_at IS NULL OR next_attempt_at <= now())"

    /// Ready rows waiting for a retry; implies the predicate of `outbox_queue_backoff_idx`, so the
    /// claim's "an earlier row of this key is backing off" reads the few rows backing off, never
    /// every queued row.
    public static let backingOff = "next_attempt_at > now() AND parked_at IS NULL"
}
