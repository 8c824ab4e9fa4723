-- The row checks of 0015 through outbox_event_problem (migration 0017), which outbox_emit_message
-- shares: the same conditions, with each length checked apart from its pattern. The bounded
-- repetitions ({1,249}, {0,254}) took PostgreSQL's regex engine about 35 µs of CPU for every row
-- inserted (bench/emit.sh: a writer's transaction with its event ran 6882 tps before, 7821 after).
CREATE OR REPLACE FUNCTION outbox_check_row() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    failed text := public.outbox_event_problem(NEW.topic, NEW.aggregate_type, NEW.event_type, NEW.payload, NEW.payload_bytes,
                                               NEW.tombstone, NEW.content_type, NEW.message_partition);
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
