-- The outbox as a contract for any service's writes (README "Publishing from your own service"):
-- a writer sets the event's columns in its own transaction, the relay owns the delivery columns.
--
-- Writer columns: event_id (default: a new uuid), aggregate_type, aggregate_id (ordering key and,
-- unless message_key is set, the Kafka key), event_type, topic ('' = routed by OUTBOX_TOPIC_ROUTE),
-- payload (jsonb) or payload_bytes (bytea, sent byte for byte), content_type, headers,
-- message_key, message_partition.
-- Relay columns: id, shard, created_at, attempts, next_attempt_at, last_error, published_at,
-- kafka_partition, kafka_offset, parked_at.

ALTER TABLE outbox
    ALTER COLUMN payload DROP NOT NULL,
    ALTER COLUMN topic SET DEFAULT '',
    ALTER COLUMN aggregate_type SET DEFAULT '',
    ADD COLUMN payload_bytes bytea,
    ADD COLUMN content_type text,
    ADD COLUMN message_key text,
    ADD COLUMN message_partition integer;

-- NOT VALID: the rows already there were written with a jsonb payload and a topic; checking them
-- would hold the table's lock for a scan of the whole history.
ALTER TABLE outbox
    ADD CONSTRAINT outbox_one_payload CHECK (num_nonnulls(payload, payload_bytes) = 1) NOT VALID,
    ADD CONSTRAINT outbox_topic_or_route CHECK (topic <> '' OR aggregate_type <> '') NOT VALID,
    ADD CONSTRAINT outbox_topic_name CHECK (topic = '' OR topic ~ '^[A-Za-z0-9._-]{1,249}$') NOT VALID,
    ADD CONSTRAINT outbox_content_type CHECK (content_type IS NULL OR content_type ~ '^[!-~][ -~]{0,254}$') NOT VALID,
    ADD CONSTRAINT outbox_message_partition CHECK (message_partition IS NULL OR message_partition >= 0) NOT VALID,
    ADD CONSTRAINT outbox_event_type CHECK (event_type <> '') NOT VALID;

-- An event enters the outbox pending: a writer that sets a delivery column gets this error, which
-- names the columns, instead of a row the relay would skip or count wrongly. The WHEN clause is
-- evaluated without calling the function, so a correct insert pays next to nothing.
CREATE FUNCTION outbox_refuse_relay_columns() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    set_columns text[] := array_remove(ARRAY[
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

CREATE TRIGGER outbox_writer_columns BEFORE INSERT ON outbox FOR EACH ROW
WHEN (NEW.attempts <> 0 OR NEW.next_attempt_at IS NOT NULL OR NEW.last_error IS NOT NULL
      OR NEW.published_at IS NOT NULL OR NEW.kafka_partition IS NOT NULL OR NEW.kafka_offset IS NOT NULL
      OR NEW.parked_at IS NOT NULL)
EXECUTE FUNCTION outbox_refuse_relay_columns();

-- One event from any client, inside the caller's transaction; returns its id (the ce_id header).
-- Equivalent to INSERT INTO outbox (event_id, topic, aggregate_id, event_type, payload, headers,
-- aggregate_type, payload_bytes, content_type, message_key, message_partition) VALUES (…) RETURNING event_id.
-- PL/pgSQL, not SQL: PostgreSQL 15 plans a SQL function's body again on every call from a new
-- statement, while PL/pgSQL keeps the INSERT's plan for the session (bench/emit.sh: 0.93x the
-- plain INSERT as a SQL function).
CREATE FUNCTION outbox_emit(
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
    emitted uuid;
BEGIN
    INSERT INTO outbox AS o (event_id, topic, aggregate_id, event_type, payload, headers, aggregate_type,
                             payload_bytes, content_type, message_key, message_partition)
    VALUES (coalesce(outbox_emit.event_id, gen_random_uuid()), coalesce(outbox_emit.topic, ''), outbox_emit.key,
            outbox_emit.event_type, outbox_emit.payload, coalesce(outbox_emit.headers, '{}'),
            coalesce(outbox_emit.aggregate_type, ''), outbox_emit.payload_bytes, outbox_emit.content_type,
            outbox_emit.message_key, outbox_emit.message_partition)
    RETURNING o.event_id INTO emitted;
    RETURN emitted;
END $$;

-- Debezium's outbox table (its default column names), as a view over the outbox: a service
-- moving from Debezium's outbox event router keeps its INSERTs, with this schema first on its
-- search_path (ALTER ROLE app SET search_path = outboxd_debezium, public).
CREATE SCHEMA outboxd_debezium;

CREATE VIEW outboxd_debezium.outbox AS
SELECT event_id AS id, aggregate_type AS aggregatetype, aggregate_id AS aggregateid, event_type AS type,
       payload, headers ->> 'traceparent' AS tracingspancontext, created_at
FROM public.outbox;

-- `tracingspancontext` holds what Debezium's tracing writes there (java.util.Properties text,
-- e.g. "traceparent=00-…-…-01"), or a bare traceparent: its traceparent and tracestate become
-- headers, which the relay sends (and validates) like any stored header.
CREATE FUNCTION outboxd_debezium.span_headers(span_context text) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN span_context IS NULL OR btrim(span_context) = '' THEN '{}'::jsonb
    WHEN span_context !~ '[=:]' THEN jsonb_build_object('traceparent', btrim(span_context))
    ELSE coalesce((
        SELECT jsonb_object_agg(lower(m[1]), btrim(m[2]))
        FROM regexp_matches(span_context, '^[ \t]*(traceparent|tracestate)[ \t]*[=:][ \t]*(.*?)[ \t\r]*$', 'gin') AS m),
        '{}'::jsonb)
END;

CREATE FUNCTION outboxd_debezium.insert_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.outbox (event_id, aggregate_type, aggregate_id, event_type, payload, headers)
    VALUES (coalesce(NEW.id, gen_random_uuid()), NEW.aggregatetype, NEW.aggregateid, NEW.type, NEW.payload,
            outboxd_debezium.span_headers(NEW.tracingspancontext))
    RETURNING event_id, created_at INTO NEW.id, NEW.created_at;
    RETURN NEW;
END $$;

-- Debezium's pattern deletes each outbox row right after inserting it (its connector reads the
-- insert from the WAL). Here the relay owns the row until it is published, so the delete is a
-- no-op; an update is refused.
CREATE FUNCTION outboxd_debezium.ignore_delete() RETURNS trigger
LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;

CREATE FUNCTION outboxd_debezium.refuse_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'outbox events cannot be changed once written'
        USING ERRCODE = '0A000', HINT = 'write a new event instead';
END $$;

CREATE TRIGGER insert_event INSTEAD OF INSERT ON outboxd_debezium.outbox FOR EACH ROW EXECUTE FUNCTION outboxd_debezium.insert_event();
CREATE TRIGGER ignore_delete INSTEAD OF DELETE ON outboxd_debezium.outbox FOR EACH ROW EXECUTE FUNCTION outboxd_debezium.ignore_delete();
CREATE TRIGGER refuse_update INSTEAD OF UPDATE ON outboxd_debezium.outbox FOR EACH ROW EXECUTE FUNCTION outboxd_debezium.refuse_update();

-- The rights to emit and nothing else: GRANT outboxd_writer TO app. Roles belong to the cluster,
-- not the database: made here when it does not exist and this session may create roles;
-- otherwise an administrator creates it (README) and this grants it the rights.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'outboxd_writer') THEN
        IF (SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user) THEN
            CREATE ROLE outboxd_writer NOLOGIN;
        ELSE
            RAISE NOTICE 'role outboxd_writer not created (this user may not create roles): create it with CREATE ROLE outboxd_writer NOLOGIN and run the GRANTs of migration 0011';
            RETURN;
        END IF;
    END IF;
    GRANT USAGE ON SCHEMA public, outboxd_debezium TO outboxd_writer;
    GRANT INSERT (event_id, aggregate_type, aggregate_id, event_type, topic, payload, payload_bytes, content_type,
                  headers, message_key, message_partition) ON outbox TO outboxd_writer;
    GRANT SELECT (event_id, created_at) ON outbox TO outboxd_writer;
    GRANT INSERT, DELETE ON outboxd_debezium.outbox TO outboxd_writer;
    GRANT SELECT (id, created_at) ON outboxd_debezium.outbox TO outboxd_writer;
    GRANT EXECUTE ON FUNCTION outbox_emit(text, text, text, jsonb, jsonb, text, bytea, text, text, integer, uuid) TO outboxd_writer;
END $$;
