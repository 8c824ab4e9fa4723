-- The outbox churns: every row is inserted, then updated (published) or deleted within milliseconds.
-- Until VACUUM removes them, the dead entries of published rows stay at the head of the partial index
-- the relay's claim scans in id order, and each claim steps over all of them (about 1 ms per claim
-- at 200k dead entries). Vacuum this table after a fixed number of changes rather than a fraction of
-- its size, without cost-based throttling. autovacuum_naptime (server-wide, default 1min) bounds how
-- soon that happens; the README recommends 10s for busy outboxes.
ALTER TABLE outbox SET (
    autovacuum_vacuum_scale_factor = 0.0,
    autovacuum_vacuum_threshold = 20000,
    autovacuum_vacuum_insert_scale_factor = 0.0,
    autovacuum_vacuum_insert_threshold = 20000,
    autovacuum_analyze_scale_factor = 0.0,
    autovacuum_analyze_threshold = 20000,
    autovacuum_vacuum_cost_delay = 0
);
