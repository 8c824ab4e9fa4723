-- Kept history at deleting's pace (issue #24): the rows not yet published live in a narrow queue
-- beside the outbox, and the relay's claim deletes the queue rows it takes. No index of the outbox
-- mentions a column the relay changes when it marks a row published, and half of each new page
-- stays free, so marking is a HOT update: no index entry is written. Before, marking rewrote the
-- wide row into every index (38.8 µs of PostgreSQL per row against 8.4 for deleting it).
--
-- outbox_queue holds one row per unpublished outbox row: pending (due or backing off) or parked.
-- The relay deletes a row's queue entry in the transaction that claims it, and in the same
-- transaction marks (or deletes) the outbox row, or puts the entry back (held, failed, parked);
-- a rollback puts every entry back. Any other SQL on the outbox keeps the queue right through the
-- triggers below, which fire even with session_replication_role = replica (ENABLE ALWAYS):
-- writers, the operators' functions, an older relay still running during an upgrade. A relay
-- session that maintains the queue itself (SET outboxd.relay_session = on) skips them.
--
-- Live: every statement here is metadata, or reads only the unpublished rows (through the indexes
-- dropped at the end); writers wait for that copy, not for a scan of the history.

LOCK TABLE outbox IN SHARE ROW EXCLUSIVE MODE;

-- Churns like the outbox (0004): vacuumed after a fixed number of changes, unthrottled.
CREATE TABLE outbox_queue (
    id              bigint PRIMARY KEY,   -- outbox.id
    shard           integer NOT NULL,     -- outbox.shard
    aggregate_id    text NOT NULL,        -- outbox.aggregate_id: the ordering key
    next_attempt_at timestamptz,          -- outbox.next_attempt_at: backing off until then
    parked_at       timestamptz           -- outbox.parked_at: parked rows stay queued, not claimed
) WITH (
    autovacuum_vacuum_scale_factor = 0.0,
    autovacuum_vacuum_threshold = 20000,
    autovacuum_vacuum_insert_scale_factor = 0.0,
    autovacuum_vacuum_insert_threshold = 20000,
    autovacuum_analyze_scale_factor = 0.0,
    autovacuum_analyze_threshold = 20000,
    autovacuum_vacuum_cost_delay = 0
);

-- The claim: rows not parked in id order, and "an earlier row of this key is backing off".
CREATE INDEX outbox_queue_ready_idx ON outbox_queue (id) WHERE parked_at IS NULL;
CREATE INDEX outbox_queue_backoff_idx ON outbox_queue (aggregate_id, id) WHERE next_attempt_at IS NOT NULL AND parked_at IS NULL;

INSERT INTO outbox_queue (id, shard, aggregate_id, next_attempt_at, parked_at)
SELECT id, shard, aggregate_id, next_attempt_at, NULL FROM outbox WHERE published_at IS NULL AND parked_at IS NULL;
INSERT INTO outbox_queue (id, shard, aggregate_id, next_attempt_at, parked_at)
SELECT id, shard, aggregate_id, next_attempt_at, parked_at FROM outbox WHERE published_at IS NULL AND parked_at IS NOT NULL;

-- Events published per second and topic, counted by the relay as it records each batch (kept an
-- hour, whatever OUTBOX_RETENTION): outbox_backlog reads these, not the history.
CREATE TABLE outbox_published_counts (
    second timestamptz NOT NULL,
    topic  text NOT NULL,
    events bigint NOT NULL,
    PRIMARY KEY (second, topic)
);

-- An inserted row that is not published is queued (every writer's row; history an owner loads
-- with published_at set is not). SECURITY DEFINER: a writer (the outboxd_writer role of 0011)
-- has no right on the queue, so it cannot queue a row twice or queue a published one.
CREATE FUNCTION outbox_queue_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    INSERT INTO public.outbox_queue (id, shard, aggregate_id, next_attempt_at, parked_at)
    VALUES (NEW.id, NEW.shard, NEW.aggregate_id, NEW.next_attempt_at, NEW.parked_at);
    RETURN NULL;
END $$;

-- An update by any session but the relay's: the row's queue entry follows its columns (an
-- operator's retry or replay queues it, publishing it by hand takes it out and counts it).
CREATE FUNCTION outbox_queue_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.published_at IS NULL THEN
        INSERT INTO outbox_queue (id, shard, aggregate_id, next_attempt_at, parked_at)
        VALUES (NEW.id, NEW.shard, NEW.aggregate_id, NEW.next_attempt_at, NEW.parked_at)
        ON CONFLICT (id) DO UPDATE
            SET shard = excluded.shard, aggregate_id = excluded.aggregate_id,
                next_attempt_at = excluded.next_attempt_at, parked_at = excluded.parked_at;
    ELSE
        DELETE FROM outbox_queue WHERE id = NEW.id;
        IF OLD.published_at IS NULL THEN
            INSERT INTO outbox_published_counts AS c (second, topic, events)
            VALUES (date_trunc('second', NEW.published_at), NEW.topic, 1)
            ON CONFLICT (second, topic) DO UPDATE SET events = c.events + 1;
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION outbox_queue_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM outbox_queue WHERE id = OLD.id;
    RETURN NULL;
END $$;

CREATE FUNCTION outbox_queue_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE outbox_queue;
    RETURN NULL;
END $$;

CREATE TRIGGER outbox_queue_inserted AFTER INSERT ON outbox FOR EACH ROW
WHEN (NEW.published_at IS NULL)
EXECUTE FUNCTION outbox_queue_inserted();

CREATE TRIGGER outbox_queue_updated AFTER UPDATE ON outbox FOR EACH ROW
WHEN ((OLD.published_at IS DISTINCT FROM NEW.published_at OR OLD.parked_at IS DISTINCT FROM NEW.parked_at
       OR OLD.next_attempt_at IS DISTINCT FROM NEW.next_attempt_at OR OLD.aggregate_id IS DISTINCT FROM NEW.aggregate_id)
      AND current_setting('outboxd.relay_session', true) IS DISTINCT FROM 'on')
EXECUTE FUNCTION outbox_queue_updated();

CREATE TRIGGER outbox_queue_deleted AFTER DELETE ON outbox FOR EACH ROW
WHEN (OLD.published_at IS NULL AND current_setting('outboxd.relay_session', true) IS DISTINCT FROM 'on')
EXECUTE FUNCTION outbox_queue_deleted();

CREATE TRIGGER outbox_queue_truncated AFTER TRUNCATE ON outbox FOR EACH STATEMENT
EXECUTE FUNCTION outbox_queue_truncated();

ALTER TABLE outbox ENABLE ALWAYS TRIGGER outbox_queue_inserted;
ALTER TABLE outbox ENABLE ALWAYS TRIGGER outbox_queue_updated;
ALTER TABLE outbox ENABLE ALWAYS TRIGGER outbox_queue_deleted;
ALTER TABLE outbox ENABLE ALWAYS TRIGGER outbox_queue_truncated;

-- The row checks of 0011 and 0012 move from CHECK constraints to this trigger, on INSERT only:
-- PostgreSQL evaluates every CHECK again on each UPDATE, and the relay's mark spent about 30% of
-- its PostgreSQL CPU in their regular expressions (perf, bench/relay.sh). Same conditions, same
-- error: SQLSTATE 23514 naming the constraint. Also measures the payload (0012's trigger). ALWAYS,
-- as the constraints held with session_replication_role = replica too.
CREATE FUNCTION outbox_check_row() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    failed text := CASE
        WHEN NOT (num_nonnulls(NEW.payload, NEW.payload_bytes) = 1) THEN 'outbox_one_payload'
        WHEN NOT (NEW.topic <> '' OR NEW.aggregate_type <> '') THEN 'outbox_topic_or_route'
        WHEN NOT (NEW.topic = '' OR (NEW.topic ~ '^[A-Za-z0-9._-]{1,249}$'
                  AND NEW.topic NOT IN ('.', '..', '__consumer_offsets', '__transaction_state', '__cluster_metadata'))) THEN 'outbox_topic_name'
        WHEN NOT (NEW.content_type IS NULL OR NEW.content_type ~ '^[!-~][ -~]{0,254}$') THEN 'outbox_content_type'
        WHEN NOT (NEW.message_partition IS NULL OR NEW.message_partition >= 0) THEN 'outbox_message_partition'
        WHEN NOT (NEW.event_type <> '') THEN 'outbox_event_type'
    END;
BEGIN
    IF failed IS NOT NULL THEN
        RAISE EXCEPTION 'new row for relation "outbox" violates check constraint "%"', failed
            USING ERRCODE = '23514', CONSTRAINT = failed, TABLE = 'outbox', SCHEMA = 'public';
    END IF;
    NEW.payload_size := coalesce(octet_length(NEW.payload_bytes), octet_length(NEW.payload::text));
    RETURN NEW;
END $$;

DROP TRIGGER outbox_payload_size ON outbox;
DROP FUNCTION outbox_measure_payload();
CREATE TRIGGER outbox_check_row BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION outbox_check_row();
ALTER TABLE outbox ENABLE ALWAYS TRIGGER outbox_check_row;
ALTER TABLE outbox
    DROP CONSTRAINT outbox_one_payload,
    DROP CONSTRAINT outbox_topic_or_route,
    DROP CONSTRAINT outbox_topic_name,
    DROP CONSTRAINT outbox_content_type,
    DROP CONSTRAINT outbox_message_partition,
    DROP CONSTRAINT outbox_event_type;

-- Marking changes published_at, kafka_partition, kafka_offset, next_attempt_at and (routed rows)
-- topic: none of them is indexed now. outbox_pkey, the event_id key and outbox_aggregate_idx stay.
DROP INDEX outbox_unpublished_idx, outbox_backoff_idx, outbox_published_idx, outbox_parked_idx;

-- Room on each new page for the marked version of its rows (HOT needs the same page). Pages
-- written before keep theirs: their rows are marked the old way until the history turns over.
ALTER TABLE outbox SET (fillfactor = 50);

-- The operators' views (0006, 0012), same columns, from the queue.
CREATE OR REPLACE VIEW outbox_pending AS
SELECT o.id, o.event_id, o.topic, o.aggregate_id, o.event_type, o.created_at,
       CASE WHEN isfinite(o.created_at) THEN now() - o.created_at END AS age,
       o.attempts, o.next_attempt_at, o.last_error
FROM outbox_queue q JOIN outbox o ON o.id = q.id
WHERE q.parked_at IS NULL;

CREATE OR REPLACE VIEW outbox_parked AS
SELECT o.id, o.event_id, o.topic, o.aggregate_id, o.event_type, o.created_at, o.attempts, o.last_error, o.parked_at
FROM outbox_queue q JOIN outbox o ON o.id = q.id
WHERE q.parked_at IS NOT NULL;

CREATE OR REPLACE VIEW outbox_backlog AS
SELECT topic, sum(pending)::bigint AS pending, max(oldest_pending_age) AS oldest_pending_age, sum(parked)::bigint AS parked,
       coalesce(sum(published_last_minute), 0)::bigint AS published_last_minute,
       coalesce(sum(published_last_hour), 0)::bigint AS published_last_hour
FROM (
    SELECT o.topic,
           count(*) FILTER (WHERE q.parked_at IS NULL) AS pending,
           now() - min(o.created_at) FILTER (WHERE q.parked_at IS NULL AND isfinite(o.created_at)) AS oldest_pending_age,
           count(*) FILTER (WHERE q.parked_at IS NOT NULL) AS parked,
           0 AS published_last_minute, 0 AS published_last_hour
    FROM outbox_queue q JOIN outbox o ON o.id = q.id
    GROUP BY o.topic
    UNION ALL
    SELECT topic, 0, NULL, 0,
           sum(events) FILTER (WHERE second > now() - interval '1 minute'), sum(events)
    FROM outbox_published_counts
    WHERE second > now() - interval '1 hour'
    GROUP BY topic
) b
GROUP BY topic;

-- Rows an owner wrote with the queue's triggers disabled (ALTER TABLE outbox DISABLE TRIGGER):
-- queues every unpublished row that has no entry; returns how many. Reads the whole outbox.
CREATE FUNCTION outbox_requeue_unqueued() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    INSERT INTO outbox_queue (id, shard, aggregate_id, next_attempt_at, parked_at)
    SELECT o.id, o.shard, o.aggregate_id, o.next_attempt_at, o.parked_at
    FROM outbox o
    WHERE o.published_at IS NULL AND NOT EXISTS (SELECT 1 FROM outbox_queue q WHERE q.id = o.id)
    ON CONFLICT (id) DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN PERFORM pg_notify('outboxd_outbox', ''); END IF;
    RETURN n;
END $$;
