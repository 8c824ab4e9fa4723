-- bench/steady.sh: one task.created event per transaction, as another service writes it (the row of
-- bench/outbox_preload.sql: the API's payload shape, its own task id).
\set n random(1, 1000000000)
INSERT INTO outbox (aggregate_type, aggregate_id, event_type, topic, payload)
SELECT 'task', t.id::text, 'task.created', 'task-events',
       jsonb_build_object('event_id', gen_random_uuid(), 'event_type', 'task.created', 'occurred_at', outboxd_rfc3339(now()),
                          'task', jsonb_build_object('id', t.id, 'title', 'bench ' || :n, 'description', NULL, 'status', 'todo',
                                                     'due_at', NULL, 'created_at', outboxd_rfc3339(now()),
                                                     'updated_at', outboxd_rfc3339(now()), 'version', 1))
FROM (SELECT gen_random_uuid() AS id) AS t;
