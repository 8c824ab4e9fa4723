-- The type of outboxd_debezium.outbox's payload column, as the table a service moves from has it
-- (issue #26): jsonb (Debezium's documented table, the default), text (a payload kept as text, JSON
-- or not) or bytea (Avro or other bytes, Debezium's BinaryDataConverter set-up). The view's inserts
-- keep their types: a jsonb payload lands in `payload`; a text one in `payload_bytes` as UTF-8 with
-- content type `text/plain; charset=utf-8` (which the relay's Debezium shape sends as Kafka
-- Connect's string, as Debezium does for a text column); a bytea one in `payload_bytes` with
-- `application/octet-stream` (Connect's bytes); a NULL one is a tombstone with that content type.
-- outboxd_debezium.set_payload_type(type) changes it.
CREATE TABLE outboxd_debezium.payload_type (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    type     text NOT NULL CHECK (type IN ('jsonb', 'text', 'bytea'))
);
INSERT INTO outboxd_debezium.payload_type (type) VALUES ('jsonb');

-- 0016's rebuild, with the payload column of the chosen type. A view's column cannot change type
-- in place: when it changes, the view is dropped and made again (in the caller's transaction, so
-- writers wait for it) with its owner, its triggers and every privilege it had on the view and on
-- its columns, granted again by the owner with its grant option. Nothing else on the view is kept
-- (a comment, a trigger of one's own); an object that depends on the view stops the drop (2BP01).
CREATE OR REPLACE FUNCTION outboxd_debezium.rebuild() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    selected text := '';
    stored text := '';
    kind text := (SELECT type FROM outboxd_debezium.payload_type);
    current_kind text;
    payload_selected text;
    payload_stored text;
    payload_columns text;
    owner name;
    grants text[] := '{}';
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
    payload_selected := CASE kind
        WHEN 'jsonb' THEN 'payload'
        WHEN 'text' THEN $s$coalesce(payload::text, CASE WHEN content_type = 'text/plain; charset=utf-8' THEN convert_from(payload_bytes, 'UTF8') END)$s$
        ELSE $s$coalesce(payload_bytes, convert_to(payload::text, 'UTF8'))$s$ END;
    -- The outbox row's payload columns, and their values. A jsonb view names only `payload` (a role
    -- granted 0011's columns one by one goes on writing); a text or bytea one `payload_bytes` and
    -- `content_type`, which is set on a NULL payload's tombstone too: the relay writes that
    -- record's schema from it.
    payload_columns := CASE kind WHEN 'jsonb' THEN 'payload' ELSE 'payload_bytes, content_type' END;
    payload_stored := CASE kind
        WHEN 'jsonb' THEN 'NEW.payload'
        WHEN 'text' THEN $s$convert_to(NEW.payload, 'UTF8'), 'text/plain; charset=utf-8'$s$
        ELSE $s$NEW.payload, 'application/octet-stream'$s$ END;

    SELECT format_type(a.atttypid, a.atttypmod) INTO current_kind
    FROM pg_attribute a WHERE a.attrelid = 'outboxd_debezium.outbox'::regclass AND a.attname = 'payload';
    IF current_kind <> kind THEN
        SELECT pg_get_userbyid(relowner) INTO owner FROM pg_class WHERE oid = 'outboxd_debezium.outbox'::regclass;
        SELECT coalesce(array_agg(g), '{}') INTO grants FROM (
            SELECT format('GRANT %s ON outboxd_debezium.outbox TO %s%s', p.privilege_type,
                          CASE WHEN p.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(p.grantee)) END,
                          CASE WHEN p.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) AS g
            FROM pg_class r, aclexplode(r.relacl) p
            WHERE r.oid = 'outboxd_debezium.outbox'::regclass AND p.grantee <> r.relowner
            UNION ALL
            SELECT format('GRANT %s (%I) ON outboxd_debezium.outbox TO %s%s', p.privilege_type, a.attname,
                          CASE WHEN p.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(p.grantee)) END,
                          CASE WHEN p.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
            FROM pg_attribute a, aclexplode(a.attacl) p
            WHERE a.attrelid = 'outboxd_debezium.outbox'::regclass AND a.attacl IS NOT NULL) x;
        DROP VIEW outboxd_debezium.outbox;
    END IF;
    EXECUTE format($view$
        CREATE OR REPLACE VIEW outboxd_debezium.outbox AS
        SELECT event_id AS id, aggregate_type AS aggregatetype, aggregate_id AS aggregateid, event_type AS type,
               %s AS payload, headers ->> 'traceparent' AS tracingspancontext, created_at%s
        FROM public.outbox $view$, payload_selected, selected);
    EXECUTE format($function$
        CREATE OR REPLACE FUNCTION outboxd_debezium.insert_event() RETURNS trigger
        LANGUAGE plpgsql AS $body$
        BEGIN
            INSERT INTO public.outbox (event_id, aggregate_type, aggregate_id, event_type, %s, tombstone, headers, fields)
            VALUES (coalesce(NEW.id, gen_random_uuid()), NEW.aggregatetype, NEW.aggregateid, NEW.type, %s, NEW.payload IS NULL,
                    outboxd_debezium.span_headers(NEW.tracingspancontext), %s)
            RETURNING event_id, created_at INTO NEW.id, NEW.created_at;
            RETURN NEW;
        END $body$ $function$,
        payload_columns, payload_stored,
        CASE WHEN stored = '' THEN 'NULL' ELSE format('nullif(jsonb_strip_nulls(jsonb_build_object(%s)), ''{}'')', substr(stored, 3)) END);
    IF current_kind <> kind THEN
        EXECUTE format('ALTER VIEW outboxd_debezium.outbox OWNER TO %I', owner);
        CREATE TRIGGER insert_event INSTEAD OF INSERT ON outboxd_debezium.outbox FOR EACH ROW EXECUTE FUNCTION outboxd_debezium.insert_event();
        CREATE TRIGGER ignore_delete INSTEAD OF DELETE ON outboxd_debezium.outbox FOR EACH ROW EXECUTE FUNCTION outboxd_debezium.ignore_delete();
        CREATE TRIGGER refuse_update INSTEAD OF UPDATE ON outboxd_debezium.outbox FOR EACH ROW EXECUTE FUNCTION outboxd_debezium.refuse_update();
        FOR i IN 1 .. coalesce(array_length(grants, 1), 0) LOOP
            EXECUTE grants[i];
        END LOOP;
    END IF;
END $$;

-- Sets the view's payload column to `type` (jsonb, text or bytea) and makes the view again; the
-- rows already written keep theirs.
CREATE FUNCTION outboxd_debezium.set_payload_type(type text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE outboxd_debezium.payload_type SET type = set_payload_type.type;
    PERFORM outboxd_debezium.rebuild();
END $$;

REVOKE EXECUTE ON FUNCTION outboxd_debezium.set_payload_type(text) FROM PUBLIC;

SELECT outboxd_debezium.rebuild();
