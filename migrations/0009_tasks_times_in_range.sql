-- Times RFC 3339 cannot express (infinity, -infinity, BC dates, years after 9999) in tasks rows
-- that other services write with SQL. New writes of such a value are refused, naming the
-- constraint (SQLSTATE 23514). NOT VALID: rows already holding one stay; the API serves such a field
-- as null and names it under "out_of_range" with PostgreSQL's spelling, and so do event payloads.
ALTER TABLE tasks ADD CONSTRAINT tasks_due_at_in_range
    CHECK (due_at >= '0001-01-01 00:00:00+00' AND due_at < '10000-01-01 00:00:00+00') NOT VALID;
ALTER TABLE tasks ADD CONSTRAINT tasks_created_at_in_range
    CHECK (created_at >= '0001-01-01 00:00:00+00' AND created_at < '10000-01-01 00:00:00+00') NOT VALID;
ALTER TABLE tasks ADD CONSTRAINT tasks_updated_at_in_range
    CHECK (updated_at >= '0001-01-01 00:00:00+00' AND updated_at < '10000-01-01 00:00:00+00') NOT VALID;

-- RFC 3339 in UTC with microseconds, or NULL outside years 0001-9999 (to_char wrote a BC date as
-- the same day AD, and year 10000 with five digits).
CREATE OR REPLACE FUNCTION outboxd_rfc3339(ts timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN ts >= '0001-01-01 00:00:00+00' AND ts < '10000-01-01 00:00:00+00'
            THEN to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END;

-- The JSON of a task as the API returns it, with "out_of_range" naming the times RFC 3339 cannot
-- express as the session spells them (outboxd's sessions: UTC, DateStyle ISO), e.g. "infinity".
CREATE OR REPLACE FUNCTION outboxd_task_json(t tasks) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
RETURN jsonb_build_object(
    'id', t.id,
    'title', t.title,
    'description', t.description,
    'status', t.status,
    'due_at', outboxd_rfc3339(t.due_at),
    'created_at', outboxd_rfc3339(t.created_at),
    'updated_at', outboxd_rfc3339(t.updated_at),
    'version', t.version)
  || coalesce((SELECT jsonb_build_object('out_of_range', jsonb_object_agg(f.name, f.value::text))
               FROM (VALUES ('due_at', t.due_at), ('created_at', t.created_at), ('updated_at', t.updated_at)) AS f(name, value)
               WHERE f.value IS NOT NULL AND outboxd_rfc3339(f.value) IS NULL
               HAVING count(*) > 0), '{}'::jsonb);
