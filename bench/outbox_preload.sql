-- bench/relay.sh: :rows pending task.created events, each for its own task, shaped like the API's.
-- psql -v rows=N [-v bytes=1] -f bench/outbox_preload.sql
-- bytes=1: the same payloads as bytes (payload_bytes: the JSON text's UTF-8, so of the same size).
\if :{?bytes}
\else
\set bytes 0
\endif
INSERT INTO outbox (event_id, aggregate_type, aggregate_id, event_type, topic, payload, payload_bytes)
SELECT e.event_id, 'task', e.task_id::text, 'task.created', 'task-events',
       CASE WHEN :bytes = 0 THEN e.payload END, CASE WHEN :bytes = 1 THEN convert_to(e.payload::text, 'UTF8') END
FROM (SELECT event_id, task_id,
             jsonb_build_object('event_id', event_id, 'event_type', 'task.created', 'occurred_at', outboxd_rfc3339(at),
                                'task', jsonb_build_object('id', task_id, 'title', 'bench ' || n, 'description', NULL,
                                                           'status', 'todo', 'due_at', NULL, 'created_at', outboxd_rfc3339(at),
                                                           'updated_at', outboxd_rfc3339(at), 'version', 1)) AS payload
      FROM (SELECT n, gen_random_uuid() AS event_id, gen_random_uuid() AS task_id, now() AS at
            FROM generate_series(1, :rows) AS n) AS g) AS e;
VACUUM ANALYZE outbox, outbox_queue;
CHECKPOINT;
