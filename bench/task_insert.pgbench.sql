-- pgbench script for bench/api.sh: the statement POST /tasks runs (TaskStore.insert, "task_insert"),
-- with the literal values of {"title":"bench"} and no Idempotency-Key. The event id is generated once
-- per transaction (CTE e: volatile, so not inlined) so the outbox row's event_id and payload agree.
-- Keep in sync with Sources/OutboxdTasks/TaskStore.swift.
WITH e AS (
    SELECT gen_random_uuid() AS id
), t AS (
    INSERT INTO tasks (title, description, status, due_at, idempotency_key, request_hash)
    VALUES ('bench', NULL, 'todo', NULL::timestamptz, NULL, md5(NULL::text))
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING tasks AS task
), o AS (
    INSERT INTO outbox (event_id, aggregate_type, aggregate_id, event_type, topic, payload)
    SELECT e.id, 'task', (t.task).id::text, 'task.created', 'task-events',
           outboxd_task_event(t.task, e.id, 'task.created', (t.task).created_at)
    FROM t CROSS JOIN e
)
SELECT (t.task).* FROM t;
