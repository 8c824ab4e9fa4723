-- bench/relay.sh: :rows pending task.created events, each for its own task, shaped like the API's.
-- psql -v rows=N -f bench/outbox_preload.sql
INSERT INTO outbox (event_id, aggregate_type, aggregate_id, event_type, topic, payload)
SELECT e.event_id, 'task', e.task_id::text, 'task.created', 'task-events',
       jsonb_build_object('event_id', e.event_id, 'event_type', 'task.created', 'occurred_at', outboxd_rfc3339(e.at),
                          'task', jsonb_build_object('id', e.task_id, 'title', 'bench ' || e.n, 'description', NULL,
                                                     'status', 'todo', 'due_at', NULL, 'created_at', outboxd_rfc3339(e.at),
                                                     'updated_at', outboxd_rfc3339(e.at), 'version', 1))
FROM (SELECT n, gen_random_uuid() AS event_id, gen_random_uuid() AS task_id, now() AS at
      FROM generate_series(1, :rows) AS n) AS e;
VACUUM ANALYZE outbox;
CHECKPOINT;
