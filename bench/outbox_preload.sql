-- bench/relay.sh: :rows pending task.created events, each for its own task, shaped like the API's.
-- psql -v rows=N [-v bytes=1] [-v txn=M] -f bench/outbox_preload.sql
-- bytes=1: the same payloads as bytes (payload_bytes: the JSON text's UTF-8, so of the same size).
-- txn=M: written in transactions of M rows, as a backlog of writers' commits is (default: one
-- transaction of all the rows). A WAL relay's slot decodes each transaction as it commits; one of
-- a million rows is held in PostgreSQL's reorder buffer (spilled to disk) until its commit.
\if :{?bytes}
\else
\set bytes 0
\endif
\if :{?txn}
\else
\set txn :rows
\endif
SELECT format($insert$
INSERT INTO outbox (event_id, aggregate_type, aggregate_id, event_type, topic, payload, payload_bytes)
SELECT e.event_id, 'task', e.task_id::text, 'task.created', 'task-events',
       CASE WHEN %1$s = 0 THEN e.payload END, CASE WHEN %1$s = 1 THEN convert_to(e.payload::text, 'UTF8') END
FROM (SELECT event_id, task_id,
             jsonb_build_object('event_id', event_id, 'event_type', 'task.created', 'occurred_at', outboxd_rfc3339(at),
                                'task', jsonb_build_object('id', task_id, 'title', 'bench ' || n, 'description', NULL,
                                                           'status', 'todo', 'due_at', NULL, 'created_at', outboxd_rfc3339(at),
                                                           'updated_at', outboxd_rfc3339(at), 'version', 1)) AS payload
      FROM (SELECT n, gen_random_uuid() AS event_id, gen_random_uuid() AS task_id, now() AS at
            FROM generate_series(%2$s, %3$s) AS n) AS g) AS e
$insert$, :bytes, first, least(first + :txn - 1, :rows))
FROM generate_series(1, :rows, :txn) AS first
\gexec
VACUUM ANALYZE outbox, outbox_queue;
CHECKPOINT;
