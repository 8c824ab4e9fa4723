-- bench/outbox_candidates.sh: candidate queue-delete (queue.sql): the claim deletes the queue rows it
-- takes, in the relay's open transaction (a rollback puts them back; the record must put back the
-- rows it holds or fails). SKIP LOCKED: the relay's second lane claims past the rows the first one
-- deleted but has not committed (without it that claim waits for the first lane's commit).
WITH q AS (
    DELETE FROM outbox_queue q WHERE q.id IN (
        SELECT q.id FROM outbox_queue q
        WHERE (q.next_attempt_at IS NULL OR q.next_attempt_at <= now())
          AND q.shard % 1 = ANY('{0}'::int[])
          AND NOT EXISTS (
              SELECT 1 FROM outbox_queue e
              WHERE e.aggregate_id = q.aggregate_id AND e.id < q.id AND e.next_attempt_at > now())
        ORDER BY q.id
        LIMIT :batch
        FOR UPDATE OF q SKIP LOCKED)
    RETURNING q.id
), c AS (
    SELECT o.id, o.event_id, o.aggregate_id, o.event_type, o.topic, o.payload::text AS payload,
           o.headers::text AS headers, o.created_at, o.attempts
    FROM q JOIN outbox o ON o.id = q.id
), marked AS (
    UPDATE outbox o SET published_at = clock_timestamp(), kafka_partition = 0, kafka_offset = 0, next_attempt_at = NULL
    FROM c WHERE o.id = c.id AND :keep = 1
), deleted AS (
    DELETE FROM outbox o USING c WHERE o.id = c.id AND :keep = 0
)
SELECT * FROM c ORDER BY id;
