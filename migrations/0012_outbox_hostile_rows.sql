-- Rows another service writes cannot stop the relay (issue: "nothing one row can do stops delivery").
-- Every statement here is metadata only or NOT VALID: no scan or rewrite of the outbox while
-- writers wait.

-- The payload's size in bytes as the relay sends it (jsonb as text, bytea as is), measured once
-- as the row is written, so that a claim can bound its bytes (RELAY_BATCH_BYTES) without reading a
-- payload. A relay column: the trigger sets it whatever a writer gave. NULL on rows written before
-- this migration or with triggers off; the claim then uses the stored size.
ALTER TABLE outbox ADD COLUMN payload_size integer;

CREATE FUNCTION outbox_measure_payload() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.payload_size := coalesce(octet_length(NEW.payload_bytes), octet_length(NEW.payload::text));
    RETURN NEW;
END $$;

CREATE TRIGGER outbox_payload_size BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION outbox_measure_payload();

-- created_at is the relay's too: the event's time (ce_time) and its age. The column default
-- (clock_timestamp()) lies between the transaction's start and the trigger's evaluation; a value
-- outside that window, widened by 5 minutes each way so that a step of the system clock never
-- refuses a correct insert, was set by the writer (infinity, another century, …). The function
-- of 0011 now names it.
CREATE OR REPLACE FUNCTION outbox_refuse_relay_columns() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    set_columns text[] := array_remove(ARRAY[
        CASE WHEN NEW.created_at NOT BETWEEN now() - interval '5 minutes' AND clock_timestamp() + interval '5 minutes' THEN 'created_at' END,
        CASE WHEN NEW.attempts <> 0 THEN 'attempts' END,
        CASE WHEN NEW.next_attempt_at IS NOT NULL THEN 'next_attempt_at' END,
        CASE WHEN NEW.last_error IS NOT NULL THEN 'last_error' END,
        CASE WHEN NEW.published_at IS NOT NULL THEN 'published_at' END,
        CASE WHEN NEW.kafka_partition IS NOT NULL THEN 'kafka_partition' END,
        CASE WHEN NEW.kafka_offset IS NOT NULL THEN 'kafka_offset' END,
        CASE WHEN NEW.parked_at IS NOT NULL THEN 'parked_at' END], NULL);
BEGIN
    RAISE EXCEPTION 'outbox: % set by the relay, not by writers', array_to_string(set_columns, ', ')
        USING ERRCODE = '42501',
              HINT = 'insert only event_id, aggregate_type, aggregate_id, event_type, topic, payload or payload_bytes, '
                  || 'content_type, headers, message_key, message_partition (or call outbox_emit)';
END $$;

DROP TRIGGER outbox_writer_columns ON outbox;
CREATE TRIGGER outbox_writer_columns BEFORE INSERT ON outbox FOR EACH ROW
WHEN (NEW.created_at NOT BETWEEN now() - interval '5 minutes' AND clock_timestamp() + interval '5 minutes'
      OR NEW.attempts <> 0 OR NEW.next_attempt_at IS NOT NULL OR NEW.last_error IS NOT NULL
      OR NEW.published_at IS NOT NULL OR NEW.kafka_partition IS NOT NULL OR NEW.kafka_offset IS NOT NULL
      OR NEW.parked_at IS NOT NULL)
EXECUTE FUNCTION outbox_refuse_relay_columns();

-- Kafka refuses "." and ".." as names and refuses producers on its internal topics.
ALTER TABLE outbox DROP CONSTRAINT outbox_topic_name;
ALTER TABLE outbox ADD CONSTRAINT outbox_topic_name
    CHECK (topic = '' OR (topic ~ '^[A-Za-z0-9._-]{1,249}$'
                          AND topic NOT IN ('.', '..', '__consumer_offsets', '__transaction_state', '__cluster_metadata'))) NOT VALID;

-- Ages of rows with a time no interval can reach (infinity, written with triggers off or before
-- this migration) are NULL instead of failing the whole view (22008): the operator still sees the row.
CREATE OR REPLACE VIEW outbox_pending AS
SELECT id, event_id, topic, aggregate_id, event_type, created_at,
       CASE WHEN isfinite(created_at) THEN now() - created_at END AS age,
       attempts, next_attempt_at, last_error
FROM outbox
WHERE published_at IS NULL AND parked_at IS NULL;

CREATE OR REPLACE VIEW outbox_recent AS
SELECT id, event_id, topic, aggregate_id, event_type, created_at, published_at,
       CASE WHEN isfinite(created_at) THEN published_at - created_at END AS delay, kafka_partition, kafka_offset
FROM outbox
WHERE published_at IS NOT NULL;

CREATE OR REPLACE VIEW outbox_backlog AS
SELECT topic,
       count(*) FILTER (WHERE published_at IS NULL AND parked_at IS NULL) AS pending,
       now() - min(created_at) FILTER (WHERE published_at IS NULL AND parked_at IS NULL AND isfinite(created_at)) AS oldest_pending_age,
       count(*) FILTER (WHERE parked_at IS NOT NULL AND published_at IS NULL) AS parked,
       count(*) FILTER (WHERE published_at > now() - interval '1 minute') AS published_last_minute,
       count(*) FILTER (WHERE published_at > now() - interval '1 hour') AS published_last_hour
FROM outbox
GROUP BY topic;
