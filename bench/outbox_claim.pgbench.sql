-- pgbench script for bench/relay.sh: the relay's claim (OutboxStore.claim, one shard) and its mark in one
-- statement, without Kafka: the rows/s PostgreSQL can hand out and retire. -D batch=N sets the batch size,
-- -D keep=1 marks rows published (OUTBOX_RETENTION > 0), -D keep=0 deletes them (retention 0).
-- Keep in sync with OutboxStore.claim (Sources/OutboxdOutbox/OutboxStore.swift), whose conditions are
-- OutboxPredicate's (pending, due, backingOff in Sources/OutboxdOutbox/OutboxPredicate.swift), written
-- out here.
WITH c AS (
    SELECT o.id, o.event_id, o.aggregate_id, o.event_type, o.topic, o.payload::text AS payload,
           o.headers::text AS headers, o.created_at, o.attempts
    FROM outbox o
    WHERE published_at IS NULL AND parked_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= now())
      AND o.shard % 1 = ANY('{0}'::int[])
      AND NOT EXISTS (
          SELECT 1 FROM outbox e
          WHERE e.aggregate_id = o.aggregate_id AND e.id < o.id AND coalesce(published_at, parked_at) IS NULL AND next_attempt_at > now())
    ORDER BY o.id
    LIMIT :batch
    FOR UPDATE OF o SKIP LOCKED
), marked AS (
    UPDATE outbox o SET published_at = clock_timestamp(), kafka_partition = 0, kafka_offset = 0, next_attempt_at = NULL
    FROM c WHERE o.id = c.id AND :keep = 1
), deleted AS (
    DELETE FROM outbox o USING c WHERE o.id = c.id AND :keep = 0
)
SELECT * FROM c;
