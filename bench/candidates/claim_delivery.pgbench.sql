-- bench/outbox_candidates.sh: the claim and its retire for candidate delivery (see delivery.sql), like bench/outbox_claim.pgbench.sql.
WITH c AS (
    SELECT q.id, o.event_id, o.aggregate_id, o.event_type, o.topic, o.payload::text AS payload,
           o.headers::text AS headers, o.created_at, o.attempts
    FROM outbox_queue q JOIN outbox o ON o.id = q.id
    WHERE (q.next_attempt_at IS NULL OR q.next_attempt_at <= now())
      AND q.shard % 1 = ANY('{0}'::int[])
      AND NOT EXISTS (
          SELECT 1 FROM outbox_queue e
          WHERE e.aggregate_id = q.aggregate_id AND e.id < q.id AND e.next_attempt_at > now())
    ORDER BY q.id
    LIMIT :batch
    FOR UPDATE OF q SKIP LOCKED
), dq AS (
    DELETE FROM outbox_queue q USING c WHERE q.id = c.id
), marked AS (
    INSERT INTO outbox_delivery (id, published_at, kafka_partition, kafka_offset)
    SELECT c.id, clock_timestamp(), 0, 0 FROM c WHERE :keep = 1
), deleted AS (
    DELETE FROM outbox o USING c WHERE o.id = c.id AND :keep = 0
)
SELECT * FROM c;
