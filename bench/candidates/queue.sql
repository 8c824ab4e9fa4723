-- Candidate "queue" (bench/outbox_candidates.sh; not a migration): the pending rows in a narrow
-- outbox_queue beside the outbox; no index of outbox mentions published_at or kafka_*, and fillfactor
-- 50 leaves room on the page, so marking a row published is a HOT update (no index entries).
-- Any SQL on outbox keeps the queue right (triggers); a session that maintains the queue itself (the
-- relay: SET outboxd.maintains_queue = on) skips the row triggers.
CREATE TABLE outbox_queue (
    id              bigint PRIMARY KEY,
    shard           integer NOT NULL,
    aggregate_id    text NOT NULL,
    next_attempt_at timestamptz
);
CREATE INDEX outbox_queue_backoff_idx ON outbox_queue (aggregate_id, id) WHERE next_attempt_at IS NOT NULL;
INSERT INTO outbox_queue SELECT id, shard, aggregate_id, next_attempt_at FROM outbox WHERE published_at IS NULL AND parked_at IS NULL;
CREATE FUNCTION outbox_queue_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox_queue (id, shard, aggregate_id, next_attempt_at)
    SELECT id, shard, aggregate_id, next_attempt_at FROM inserted WHERE published_at IS NULL AND parked_at IS NULL;
    RETURN NULL;
END $$;
CREATE FUNCTION outbox_queue_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM outbox_queue WHERE id = OLD.id;
    ELSIF NEW.published_at IS NULL AND NEW.parked_at IS NULL THEN
        INSERT INTO outbox_queue (id, shard, aggregate_id, next_attempt_at) VALUES (NEW.id, NEW.shard, NEW.aggregate_id, NEW.next_attempt_at)
        ON CONFLICT (id) DO UPDATE SET shard = excluded.shard, aggregate_id = excluded.aggregate_id, next_attempt_at = excluded.next_attempt_at;
    ELSE
        DELETE FROM outbox_queue WHERE id = NEW.id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_queue_insert AFTER INSERT ON outbox REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_queue_insert();
CREATE TRIGGER outbox_queue_update AFTER UPDATE ON outbox FOR EACH ROW
    WHEN (current_setting('outboxd.maintains_queue', true) IS DISTINCT FROM 'on'
          AND (old.published_at IS DISTINCT FROM new.published_at OR old.parked_at IS DISTINCT FROM new.parked_at
               OR old.next_attempt_at IS DISTINCT FROM new.next_attempt_at OR old.aggregate_id IS DISTINCT FROM new.aggregate_id))
    EXECUTE FUNCTION outbox_queue_sync();
CREATE TRIGGER outbox_queue_delete AFTER DELETE ON outbox FOR EACH ROW
    WHEN (current_setting('outboxd.maintains_queue', true) IS DISTINCT FROM 'on' AND old.published_at IS NULL AND old.parked_at IS NULL)
    EXECUTE FUNCTION outbox_queue_sync();
DROP INDEX outbox_unpublished_idx, outbox_backoff_idx, outbox_published_idx, outbox_parked_idx;
-- HOT-safe replacements: marking never changes parked_at or created_at.
CREATE INDEX outbox_parked_idx ON outbox (parked_at) WHERE parked_at IS NOT NULL;
CREATE INDEX outbox_created_idx ON outbox (created_at); -- the purge: published before the cutoff implies created before it
ALTER TABLE outbox SET (fillfactor = 50);
