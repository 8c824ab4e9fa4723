-- Purging published rows after OUTBOX_RETENTION reads them in published_at order.
CREATE INDEX outbox_published_idx ON outbox (published_at) WHERE published_at IS NOT NULL;
