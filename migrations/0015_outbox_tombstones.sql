-- Events without a payload (issue #26): what Debezium's outbox event router sends for a row whose
-- payload is NULL, a record with a null value (a tombstone for its key; the text null, or an
-- envelope with "payload":null, under JsonConverter). A row with tombstone = true has neither
-- payload nor payload_bytes; every other row still needs exactly one (outbox_one_payload), so a
-- NULL payload written by mistake is still refused. The Debezium view turns a NULL payload into a
-- tombstone; any writer may write one by setting the column.

-- A constant default: no rewrite, the lock only while the catalog changes.
ALTER TABLE outbox ADD COLUMN tombstone boolean NOT NULL DEFAULT false;

CREATE OR REPLACE FUNCTION outbox_check_row() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    failed text := CASE
        WHEN NOT (num_nonnulls(NEW.payload, NEW.payload_bytes) = CASE WHEN NEW.tombstone THEN 0 ELSE 1 END) THEN 'outbox_one_payload'
        WHEN NOT (NEW.topic <> '' OR NEW.aggregate_type <> '') THEN 'outbox_topic_or_route'
        WHEN NOT (NEW.topic = '' OR (NEW.topic ~ '^[A-Za-z0-9._-]{1,249}$'
                  AND NEW.topic NOT IN ('.', '..', '__consumer_offsets', '__transaction_state', '__cluster_metadata'))) THEN 'outbox_topic_name'
        WHEN NOT (NEW.content_type IS NULL OR NEW.content_type ~ '^[!-~][ -~]{0,254}$') THEN 'outbox_content_type'
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

CREATE OR REPLACE FUNCTION outboxd_debezium.insert_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.outbox (event_id, aggregate_type, aggregate_id, event_type, payload, tombstone, headers)
    VALUES (coalesce(NEW.id, gen_random_uuid()), NEW.aggregatetype, NEW.aggregateid, NEW.type, NEW.payload, NEW.payload IS NULL,
            outboxd_debezium.span_headers(NEW.tracingspancontext))
    RETURNING event_id, created_at INTO NEW.id, NEW.created_at;
    RETURN NEW;
END $$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'outboxd_writer') THEN
        GRANT INSERT (tombstone) ON outbox TO outboxd_writer;
    ELSE
        RAISE NOTICE 'role outboxd_writer does not exist: after creating it, run the GRANTs of migrations 0011 and 0015';
    END IF;
END $$;
