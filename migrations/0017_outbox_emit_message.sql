-- Table-less events (issue #27): outbox_emit_message writes an event into the WAL only, as a
-- transactional logical decoding message, and no outbox row: no index, no queue, no vacuum, no
-- purge. A relay with RELAY_SOURCE=wal reads it from its replication slot and publishes it like a
-- row; one it cannot deliver becomes an outbox row with its error (retried, then parked, like any
-- row). The trade-off: until it is delivered the event exists only in the slot's WAL, so a slot
-- dropped or invalidated before then loses it (README "Table-less events").

-- The slots of relays in wal mode on this database (WalSlot.prepare registers its own). An event
-- is emitted only while one of them exists and is not lost (seen by the session in the last
-- second): with none, no relay would ever read it.
CREATE TABLE outbox_wal_slots (
    slot_name  text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The checks of an event, for the outbox's insert trigger (migration 0018) and outbox_emit_message
-- alike: the name of the first outbox constraint it violates, or NULL. A SQL expression, inlined
-- where it is called. Each length is checked apart from its pattern: a bounded repetition such
-- as {1,249} makes PostgreSQL's regex engine take about 35 µs a call (bench/emit.sh). The
-- patterns admit only ASCII, so length() counts bytes.
CREATE FUNCTION outbox_event_problem(topic text, aggregate_type text, event_type text, payload jsonb, payload_bytes bytea,
                                     tombstone boolean, content_type text, message_partition integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE
    WHEN NOT (num_nonnulls(payload, payload_bytes) = CASE WHEN tombstone THEN 0 ELSE 1 END) THEN 'outbox_one_payload'
    WHEN NOT (topic <> '' OR aggregate_type <> '') THEN 'outbox_topic_or_route'
    WHEN NOT (topic = '' OR (topic ~ '^[A-Za-z0-9._-]+$' AND length(topic) <= 249
              AND topic NOT IN ('.', '..', '__consumer_offsets', '__transaction_state', '__cluster_metadata'))) THEN 'outbox_topic_name'
    WHEN NOT (content_type IS NULL OR (content_type ~ '^[!-~][ -~]*$' AND length(content_type) <= 255)) THEN 'outbox_content_type'
    WHEN NOT (message_partition IS NULL OR message_partition >= 0) THEN 'outbox_message_partition'
    WHEN NOT (event_type <> '') THEN 'outbox_event_type'
END
$$;

-- The message's prefix names its format; its content is a JSON array, each text column as a JSON
-- string (payload and headers as their jsonb text, so the record's bytes are the row's):
-- [event_id, topic, aggregate_type, key, event_type, payload, payload_bytes (hex), content_type,
--  message_key, message_partition, headers, created_at (seconds since the epoch)].
-- The same arguments and checks as outbox_emit (the outbox's constraints, by their names).
CREATE FUNCTION outbox_emit_message(
    topic text,
    key text,
    event_type text,
    payload jsonb DEFAULT NULL,
    headers jsonb DEFAULT '{}',
    aggregate_type text DEFAULT '',
    payload_bytes bytea DEFAULT NULL,
    content_type text DEFAULT NULL,
    message_key text DEFAULT NULL,
    message_partition integer DEFAULT NULL,
    event_id uuid DEFAULT NULL
) RETURNS uuid
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    emitted uuid := coalesce(outbox_emit_message.event_id, gen_random_uuid());
    to_topic text := coalesce(outbox_emit_message.topic, '');
    route_type text := coalesce(outbox_emit_message.aggregate_type, '');
    failed text;
BEGIN
    IF outbox_emit_message.key IS NULL OR outbox_emit_message.event_type IS NULL THEN
        RAISE EXCEPTION 'outbox_emit_message: % must not be NULL', CASE WHEN outbox_emit_message.key IS NULL THEN 'key' ELSE 'event_type' END
            USING ERRCODE = '23502';
    END IF;
    failed := public.outbox_event_problem(to_topic, route_type, outbox_emit_message.event_type, outbox_emit_message.payload,
                                          outbox_emit_message.payload_bytes, false, outbox_emit_message.content_type,
                                          outbox_emit_message.message_partition);
    IF failed = 'outbox_one_payload' THEN
        RAISE EXCEPTION 'outbox_emit_message: the event violates check constraint "%" of the outbox', failed
            USING ERRCODE = '23514', CONSTRAINT = failed, HINT = 'set exactly one of payload and payload_bytes';
    ELSIF failed IS NOT NULL THEN
        RAISE EXCEPTION 'outbox_emit_message: the event violates check constraint "%" of the outbox', failed
            USING ERRCODE = '23514', CONSTRAINT = failed;
    END IF;
    -- pg_replication_slots costs about 25 µs a read: a session reads it at most once a second.
    IF coalesce(nullif(current_setting('outboxd.emit_slot_seen_at', true), ''), '0')::double precision
       < pg_catalog.date_part('epoch', now()) - 1 THEN
        IF NOT EXISTS (SELECT FROM public.outbox_wal_slots w JOIN pg_catalog.pg_replication_slots s USING (slot_name)
                       WHERE s.database = current_database() AND s.wal_status IS DISTINCT FROM 'lost') THEN
            RAISE EXCEPTION 'outbox_emit_message: no relay in wal mode has a replication slot on this database, so no relay would read the event'
                USING ERRCODE = '55000', HINT = 'run the relay with RELAY_SOURCE=wal, or call outbox_emit';
        END IF;
        PERFORM pg_catalog.set_config('outboxd.emit_slot_seen_at', pg_catalog.date_part('epoch', now())::text, false);
    END IF;
    PERFORM pg_catalog.pg_logical_emit_message(true, 'outboxd.event.v1', pg_catalog.json_build_array(
        emitted, to_topic, route_type, outbox_emit_message.key, outbox_emit_message.event_type,
        outbox_emit_message.payload::text, pg_catalog.encode(outbox_emit_message.payload_bytes, 'hex'),
        outbox_emit_message.content_type, outbox_emit_message.message_key, outbox_emit_message.message_partition,
        coalesce(outbox_emit_message.headers, '{}')::text, pg_catalog.date_part('epoch', clock_timestamp()))::text);
    RETURN emitted;
END $$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'outboxd_writer') THEN
        GRANT SELECT ON outbox_wal_slots TO outboxd_writer;
        GRANT EXECUTE ON FUNCTION outbox_emit_message(text, text, text, jsonb, jsonb, text, bytea, text, text, integer, uuid) TO outboxd_writer;
        -- The insert trigger calls it as the inserting role (0018): granted in case PUBLIC's right was revoked.
        GRANT EXECUTE ON FUNCTION outbox_event_problem(text, text, text, jsonb, bytea, boolean, text, integer) TO outboxd_writer;
    ELSE
        RAISE NOTICE 'role outboxd_writer does not exist: after creating it, run the GRANTs of migrations 0011, 0015, 0016 and 0017';
    END IF;
END $$;
