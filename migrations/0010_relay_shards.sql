-- The shard count (RELAY_SHARDS) the running relays use. Rows are split by `shard % count` and
-- each shard is owned through the advisory lock (obrx, shard): relays with different counts would
-- lock different keys for the same rows and publish one key's events from two processes (G3).
-- A relay records its count only while no other relay runs (it holds the exclusive advisory lock
-- (obrx, -1), which every running relay holds shared); otherwise it must match this row.
CREATE TABLE outbox_relay_shards (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    shards      integer NOT NULL CHECK (shards BETWEEN 1 AND 256),
    recorded_at timestamptz NOT NULL DEFAULT now()
);
