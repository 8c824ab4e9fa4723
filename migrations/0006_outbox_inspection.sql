-- What an operator runs when events are late, stuck or parked (README: "Inspecting the outbox").

-- Rows waiting for the relay, oldest first in id order, with how long they have waited.
CREATE VIEW outbox_pending AS
SELECT id, event_id, topic, aggregate_id, event_type, created_at, now() - created_at AS age,
       attempts, next_attempt_at, last_error
FROM outbox
WHERE published_at IS NULL AND parked_at IS NULL;

-- Rows the relay gave up on after RELAY_MAX_ATTEMPTS; never retried until an operator says so.
CREATE VIEW outbox_parked AS
SELECT id, event_id, topic, aggregate_id, event_type, created_at, attempts, last_error, parked_at
FROM outbox
WHERE parked_at IS NOT NULL AND published_at IS NULL;

-- Published rows still kept (OUTBOX_RETENTION), newest first, with where they went.
CREATE VIEW outbox_recent AS
SELECT id, event_id, topic, aggregate_id, event_type, created_at, published_at,
       published_at - created_at AS delay, kafka_partition, kafka_offset
FROM outbox
WHERE published_at IS NOT NULL;

-- One row per topic: pending, the age of the oldest pending, parked, published in the last minute/hour.
CREATE VIEW outbox_backlog AS
SELECT topic,
       count(*) FILTER (WHERE published_at IS NULL AND parked_at IS NULL) AS pending,
       now() - min(created_at) FILTER (WHERE published_at IS NULL AND parked_at IS NULL) AS oldest_pending_age,
       count(*) FILTER (WHERE parked_at IS NOT NULL AND published_at IS NULL) AS parked,
       count(*) FILTER (WHERE published_at > now() - interval '1 minute') AS published_last_minute,
       count(*) FILTER (WHERE published_at > now() - interval '1 hour') AS published_last_hour
FROM outbox
GROUP BY topic;

-- Makes the given unpublished events due now (parked or backing off); returns how many. Wakes the relay.
CREATE FUNCTION outbox_retry(event_ids uuid[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    UPDATE outbox SET parked_at = NULL, attempts = 0, next_attempt_at = NULL, last_error = NULL
    WHERE event_id = ANY(event_ids) AND published_at IS NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN PERFORM pg_notify('outboxd_outbox', ''); END IF;
    RETURN n;
END $$;

-- Makes every event parked since `since` due now; returns how many. Wakes the relay.
CREATE FUNCTION outbox_retry_parked(since timestamptz DEFAULT '-infinity') RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    UPDATE outbox SET parked_at = NULL, attempts = 0, next_attempt_at = NULL, last_error = NULL
    WHERE parked_at >= since AND published_at IS NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN PERFORM pg_notify('outboxd_outbox', ''); END IF;
    RETURN n;
END $$;

-- Publishes again the kept events published in [from_time, to_time), under the same event ids
-- (consumers' inboxes drop what they already applied); returns how many. Wakes the relay.
CREATE FUNCTION outbox_replay(from_time timestamptz, to_time timestamptz) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    IF from_time IS NULL OR to_time IS NULL OR from_time >= to_time THEN
        RAISE EXCEPTION 'outbox_replay: from_time must be before to_time (got % and %)', from_time, to_time
            USING ERRCODE = '22023';
    END IF;
    UPDATE outbox SET published_at = NULL, kafka_partition = NULL, kafka_offset = NULL,
                      attempts = 0, next_attempt_at = NULL, last_error = NULL
    WHERE published_at >= from_time AND published_at < to_time;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN PERFORM pg_notify('outboxd_outbox', ''); END IF;
    RETURN n;
END $$;
