/// The states of an outbox row as SQL conditions, each written once and used by every statement
/// that asks for it. A partial index serves a statement only when the planner can prove, clause by
/// clause, that the statement's condition implies the index's predicate: these are those predicates
/// (or imply them), so keep them in step with the migrations. Unqualified columns: use them where
/// `outbox` is the only (or innermost) table in scope.
public enum OutboxPredicate {
    /// Neither published nor parked: waiting for the relay, due now or backing off. The predicate of
    /// `outbox_unpublished_idx` (migration 0001), which holds these rows in id order.
    public static let pending = "published_at IS NULL AND parked_at IS NULL"

    /// Pending rows whose next attempt has come (or never failed). Add to `pending`.
    public static let due = "(next_attempt_at IS NULL OR next_attempt_at <= now())"

    /// Pending rows waiting for a retry, written with coalesce() so that it implies the predicate of
    /// `outbox_backoff_idx` (migration 0007) and not `pending`'s: the claim's "an earlier row of this
    /// key is backing off" then reads the few rows backing off, never every pending row.
    public static let backingOff = "coalesce(published_at, parked_at) IS NULL AND next_attempt_at > now()"

    /// Given up on after the attempts ran out, until an operator retries them. The predicate of
    /// `outbox_parked_idx` (migration 0008).
    public static let parked = "published_at IS NULL AND parked_at IS NOT NULL"
}
