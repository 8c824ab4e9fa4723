-- Parked rows (few at any time) for the /metrics backlog, the outbox_parked view and
-- outbox_retry_parked(since): without it each of them read the whole retained history.
CREATE INDEX outbox_parked_idx ON outbox (parked_at) WHERE published_at IS NULL AND parked_at IS NOT NULL;
