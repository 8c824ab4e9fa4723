-- Tasks, the transactional outbox, and the function that turns a task row into an event payload.

CREATE TABLE tasks (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    title           text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    description     text CHECK (char_length(description) <= 10000),
    status          text NOT NULL DEFAULT 'todo' CHECK (status IN ('todo', 'in_progress', 'done')),
    due_at          timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    version         integer NOT NULL DEFAULT 1,
    -- Idempotency-Key of the POST that created the task, and an md5 of its normalised body.
    idempotency_key text UNIQUE,
    request_hash    text
);

-- Keyset pagination of GET /tasks, with and without a status filter.
CREATE INDEX tasks_created_idx ON tasks (created_at, id);
CREATE INDEX tasks_status_created_idx ON tasks (status, created_at, id);

CREATE TABLE outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- claim order
    event_id        uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(), -- public id, the ce_id header
    aggregate_type  text NOT NULL,
    aggregate_id    text NOT NULL,                                   -- the Kafka key
    event_type      text NOT NULL,
    topic           text NOT NULL,
    payload         jsonb NOT NULL,
    headers         jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- Stable bucket of the key (0..255); a relay owning shard k of n claims buckets with bucket % n = k.
    shard           integer NOT NULL GENERATED ALWAYS AS (hashtext(aggregate_id) & 255) STORED,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    last_error      text,
    published_at    timestamptz,
    kafka_partition integer,
    kafka_offset    bigint,
    parked_at       timestamptz
);

-- The relay's claim scans only rows still to publish, however long the history grows.
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL AND parked_at IS NULL;
CREATE INDEX outbox_aggregate_idx ON outbox (aggregate_id, id);

-- RFC 3339 in UTC with microseconds, the same text the HTTP API writes.
CREATE FUNCTION outboxd_rfc3339(ts timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');

-- The JSON of a task as the API returns it.
CREATE FUNCTION outboxd_task_json(t tasks) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
RETURN jsonb_build_object(
    'id', t.id,
    'title', t.title,
    'description', t.description,
    'status', t.status,
    'due_at', outboxd_rfc3339(t.due_at),
    'created_at', outboxd_rfc3339(t.created_at),
    'updated_at', outboxd_rfc3339(t.updated_at),
    'version', t.version);

-- An event payload: the event's identity and time, and the task as the API returns it.
CREATE FUNCTION outboxd_task_event(t tasks, event_id uuid, event_type text, occurred_at timestamptz)
RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
RETURN jsonb_build_object(
    'event_id', event_id,
    'event_type', event_type,
    'occurred_at', outboxd_rfc3339(occurred_at),
    'task', outboxd_task_json(t));
