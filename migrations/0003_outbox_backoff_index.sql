-- Rows waiting for a retry (few at any time). The relay's claim asks, for each candidate, whether an
-- earlier row of its key is backing off; with this index that check reads only the rows backing off,
-- whatever plan PostgreSQL picks for the prepared claim (its generic plan scanned the whole outbox).
CREATE INDEX outbox_backoff_idx ON outbox (aggregate_id, id)
    WHERE published_at IS NULL AND parked_at IS NULL AND next_attempt_at IS NOT NULL;
