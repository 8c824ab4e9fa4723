-- pgbench script for bench/api.sh: the statement POST /tasks runs (TaskStore.insert, "task_insert"),
-- with the literal values of {"title":"bench"} and no Idempotency-Key. The event id is generated once
-- per transaction (CTE e: volatile, so not inlined) so the outbox row's event_id and payload agree.
-- Keep in sync with TaskStore.insert (Sources/OutboxdTasks/TaskStore.swift) and the clause it composes,
-- OutboxWriter.insertNewEvents (Sources/OutboxdOutbox/OutboxWriter.swift), written out in CTE o.
WITH e AS (
    SELECT gen_random_uuid() AS id
), t AS (
    INSERT INTO tasks (title, description, status, due_at, idempotency_key, request_hash)
    VALUES ('bench', NULL, 'todo', NULL::timestamptz, NULL, md5(NULL::text))
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING tasks AS task
), new_events AS (
    SELECT e.id AS event_id, 'task' AS aggregate_type, (t.task).id::text AS aggregate_id,
           'task.created' AS event_type, 'task-events'::text AS topic,
           outboxd_task_event(t.task, e.id, 'task.created', (t.task).created_at) AS payload, 1 AS position
    FROM t CROSS JOIN e
), o AS (
    INSERT INTO outbox (event_id, aggregate_type, aggregate_id, event_type, topic, payload)
    SELECT event_id, aggregate_type, aggregate_id, event_type, topic, payload FROM new_events ORDER BY position
)
SELECT (t.task).* FROM t;
