-- pgbench script for bench/relay.sh: the relay's claim (OutboxStore.claim, one shard) and its mark in one
-- statement, without Kafka: the rows/s PostgreSQL can hand out and retire. -D batch=N sets the batch size,
-- -D keep=1 marks rows published (OUTBOX_RETENTION > 0), -D keep=0 deletes them (retention 0).
-- Run with the settings of the relay's lanes (Relay.laneSettings): PGOPTIONS='-c outboxd.relay_session=on
-- -c enable_seqscan=off -c enable_bitmapscan=off' (bench/relay.sh does).
-- RELAY_BATCH_BYTES at its default (16 MiB). Keep in sync with OutboxStore.claim (Sources/OutboxdOutbox/OutboxStore.swift), whose conditions are
-- OutboxPredicate's (ready, due, backingOff in Sources/OutboxdOutbox/OutboxPredicate.swift), written
-- out here.
WITH taken AS (
    DELETE FROM outbox_queue t WHERE t.id = ANY (ARRAY(
        SELECT q.id FROM outbox_queue q
        WHERE parked_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= now())
          AND q.shard % 1 = ANY('{0}'::int[])
          AND NOT EXISTS (
              SELECT 1 FROM outbox_queue e
              WHERE e.aggregate_id = q.aggregate_id AND e.id < q.id AND next_attempt_at > now() AND parked_at IS NULL)
        ORDER BY q.id
        LIMIT :batch
        FOR UPDATE OF q SKIP LOCKED))
    RETURNING t.id
), claimed AS (
    SELECT o.id, o.event_id, o.aggregate_type, o.aggregate_id, o.event_type, o.topic, o.payload, o.payload_bytes,
           coalesce(o.payload_size, octet_length(o.payload_bytes), pg_column_size(o.payload), 0) AS payload_size,
           o.content_type, o.message_key, o.message_partition, o.headers, o.created_at, o.attempts, o.tombstone
    FROM taken JOIN outbox o ON o.id = taken.id
), c AS (
    SELECT id, event_id, aggregate_type, aggregate_id, event_type, topic,
           CASE WHEN within THEN payload::text END AS payload, CASE WHEN within THEN payload_bytes END AS payload_bytes,
           payload_size, within, content_type, message_key, message_partition, headers::text AS headers, created_at, attempts, tombstone
    FROM (SELECT claimed.*, payload_size <= 16777216
                            AND sum(CASE WHEN payload_size <= 16777216 THEN payload_size ELSE 0 END) OVER (ORDER BY id) <= 16777216 AS within
          FROM claimed) b
), marked AS (
    UPDATE outbox o SET published_at = clock_timestamp(), kafka_partition = 0, kafka_offset = 0, next_attempt_at = NULL
    FROM c WHERE o.id = c.id AND :keep = 1
), deleted AS (
    DELETE FROM outbox o USING c WHERE o.id = c.id AND :keep = 0
)
SELECT * FROM c ORDER BY id;
