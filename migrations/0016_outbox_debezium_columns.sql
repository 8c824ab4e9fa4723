-- The columns Debezium users add to their outbox table beside its own (issue #26): an event time
-- for table.field.event.timestamp (`timestamp`, as the Quarkus outbox extension writes it), and any
-- other column that table.fields.additional.placement sends as a header, in the envelope or as the
-- partition. A writer through outboxd_debezium.outbox keeps writing them; each lands in the row's
-- `fields` (by column name, NULLs left out; a timestamp as microseconds since the epoch, the
-- value Debezium's connector gives it), and the relay reads them from there by the names its
-- OUTBOX_DEBEZIUM_* settings give. outboxd_debezium.add_column(name, type) adds one to the view.

-- A writer column; NULL for every row that has none (no rewrite, the lock only while the catalog changes).
ALTER TABLE outbox ADD COLUMN fields jsonb;

-- The view's added columns, in their order, with the type Debezium's connector read them as. The
-- relay reads this at start-up to check its settings and to write the schema of an envelope
-- (OUTBOX_DEBEZIUM_CONVERTER=json). Change it through add_column only.
CREATE TABLE outboxd_debezium.columns (
    position integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name     text NOT NULL UNIQUE
             CHECK (name ~ '^[a-z_][a-z0-9_]{0,62}$'
                    AND name NOT IN ('id', 'aggregatetype', 'aggregateid', 'type', 'payload', 'tracingspancontext', 'created_at')),
    type     text NOT NULL CHECK (type IN ('text', 'smallint', 'integer', 'bigint', 'boolean', 'uuid', 'timestamp')),
    not_null boolean NOT NULL DEFAULT false
);

-- The view and its insert trigger, made again from the catalog: the columns of 0011 first, then
-- the added ones. CREATE OR REPLACE VIEW keeps the view's grants and triggers; columns are only
-- ever appended.
CREATE FUNCTION outboxd_debezium.rebuild() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    selected text := '';
    stored text := '';
    c record;
BEGIN
    FOR c IN SELECT name, type FROM outboxd_debezium.columns ORDER BY position LOOP
        selected := selected || ', ' || CASE c.type
            WHEN 'timestamp' THEN format('timestamp ''1970-01-01'' + (fields ->> %L)::bigint * interval ''1 microsecond'' AS %I', c.name, c.name)
            ELSE format('(fields ->> %L)::%s AS %I', c.name, c.type, c.name) END;
        stored := stored || format(', %L, ', c.name) || CASE c.type
            WHEN 'timestamp' THEN format('(extract(epoch FROM NEW.%I) * 1000000)::bigint', c.name)
            ELSE format('NEW.%I', c.name) END;
    END LOOP;
    EXECUTE format($view$
        CREATE OR REPLACE VIEW outboxd_debezium.outbox AS
        SELECT event_id AS id, aggregate_type AS aggregatetype, aggregate_id AS aggregateid, event_type AS type,
               payload, headers ->> 'traceparent' AS tracingspancontext, created_at%s
        FROM public.outbox $view$, selected);
    EXECUTE format($function$
        CREATE OR REPLACE FUNCTION outboxd_debezium.insert_event() RETURNS trigger
        LANGUAGE plpgsql AS $body$
        BEGIN
            INSERT INTO public.outbox (event_id, aggregate_type, aggregate_id, event_type, payload, tombstone, headers, fields)
            VALUES (coalesce(NEW.id, gen_random_uuid()), NEW.aggregatetype, NEW.aggregateid, NEW.type, NEW.payload, NEW.payload IS NULL,
                    outboxd_debezium.span_headers(NEW.tracingspancontext), %s)
            RETURNING event_id, created_at INTO NEW.id, NEW.created_at;
            RETURN NEW;
        END $body$ $function$,
        CASE WHEN stored = '' THEN 'NULL' ELSE format('nullif(jsonb_strip_nulls(jsonb_build_object(%s)), ''{}'')', substr(stored, 3)) END);
END $$;

-- Adds a column to outboxd_debezium.outbox, as the table a service moves from has it. `type` is
-- one of text, smallint, integer, bigint, boolean, uuid, timestamp (without time zone, read as
-- UTC, as Debezium reads it); `not_null` is what the schema of an envelope says of it (the view
-- cannot enforce it).
CREATE FUNCTION outboxd_debezium.add_column(name text, type text, not_null boolean DEFAULT false) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outboxd_debezium.columns (name, type, not_null) VALUES (add_column.name, add_column.type, add_column.not_null);
    PERFORM outboxd_debezium.rebuild();
END $$;

SELECT outboxd_debezium.add_column('timestamp', 'timestamp');

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'outboxd_writer') THEN
        GRANT INSERT (fields) ON outbox TO outboxd_writer;
    ELSE
        RAISE NOTICE 'role outboxd_writer does not exist: after creating it, run the GRANTs of migrations 0011, 0015 and 0016';
    END IF;
END $$;

-- Changing the view is the owner's (a migration, an operator), not a writer's.
REVOKE EXECUTE ON FUNCTION outboxd_debezium.rebuild(), outboxd_debezium.add_column(text, text, boolean) FROM PUBLIC;
