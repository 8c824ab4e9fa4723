-- The claim's check "is an earlier row of this key backing off?" must read only the rows backing off.
-- With 0003's predicate the index of pending rows (outbox_unpublished_idx) could answer it too, and
-- after an autovacuum ANALYZE that found few pending rows the planner took that one: each claimed row
-- then read every pending row (claims grew from 25 ms to 3.6 s at 2k tasks/s and the relay fell 20 s
-- behind). The claim now writes the check with coalesce(), which implies this predicate but not the
-- pending-rows index's, so no plan can read all pending rows for it.
DROP INDEX outbox_backoff_idx;
CREATE INDEX outbox_backoff_idx ON outbox (aggregate_id, id)
    WHERE coalesce(published_at, parked_at) IS NULL AND next_attempt_at IS NOT NULL;
