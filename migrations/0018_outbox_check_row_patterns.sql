-- The row checks of 0015, the same conditions, with each length checked apart from its pattern: a
-- bounded repetition such as {1,249} makes PostgreSQL's regex engine take about 35 µs of CPU for
-- every row inserted (bench/emit.sh: a writer's transaction with its event, 0.89x → 1.0 of the
-- same transaction's speed with the patterns unbounded). The patterns admit only ASCII, so
-- length() counts bytes.
CREATE OR REPLACE FUNCTION outbox_check_row() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    failed text := CASE
        WHEN NOT (num_nonnulls(NEW.payload, NEW.payload_bytes) = CASE WHEN NEW.tombstone THEN 0 ELSE 1 END) THEN 'outbox_one_payload'
        WHEN NOT (NEW.topic <> '' OR NEW.aggregate_type <> '') THEN 'outbox_topic_or_route'
        WHEN NOT (NEW.topic = '' OR (NEW.topic ~ '^[A-Za-z0-9._-]+$' AND length(NEW.topic) <= 249
                  AND NEW.topic NOT IN ('.', '..', '__consumer_offsets', '__transaction_state', '__cluster_metadata'))) THEN 'outbox_topic_name'
        WHEN NOT (NEW.content_type IS NULL
                  OR (NEW.content_type ~ '^[!-~][ -~]*$' AND length(NEW.content_type) <= 255)) THEN 'outbox_content_type'
        WHEN NOT (NEW.message_partition IS NULL OR NEW.message_partition >= 0) THEN 'outbox_message_partition'
        WHEN NOT (NEW.event_type <> '') THEN 'outbox_event_type'
    END;
BEGIN
    IF failed = 'outbox_one_payload' THEN
        RAISE EXCEPTION 'new row for relation "outbox" violates check constraint "%"', failed
            USING ERRCODE = '23514', CONSTRAINT = failed, TABLE = 'outbox', SCHEMA = 'public',
                  HINT = 'set exactly one of payload and payload_bytes, or neither with tombstone = true';
    ELSIF failed IS NOT NULL THEN
        RAISE EXCEPTION 'new row for relation "outbox" violates check constraint "%"', failed
            USING ERRCODE = '23514', CONSTRAINT = failed, TABLE = 'outbox', SCHEMA = 'public';
    END IF;
    NEW.payload_size := coalesce(octet_length(NEW.payload_bytes), octet_length(NEW.payload::text), 0);
    RETURN NEW;
END $$;
