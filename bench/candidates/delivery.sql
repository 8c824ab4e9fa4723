-- Candidate "delivery" (bench/outbox_candidates.sh; not a migration): the pending rows in a narrow
-- outbox_queue; the wide outbox row is never updated on publish, the delivery goes to a narrow
-- insert-only outbox_delivery (partition, offset, report time). Readers of published_at would move there.
CREATE TABLE outbox_queue (
    id              bigint PRIMARY KEY,
    shard           integer NOT NULL,
    aggregate_id    text NOT NULL,
    next_attempt_at timestamptz
);
CREATE INDEX outbox_queue_backoff_idx ON outbox_queue (aggregate_id, id) WHERE next_attempt_at IS NOT NULL;
INSERT INTO outbox_queue SELECT id, shard, aggregate_id, next_attempt_at FROM outbox WHERE published_at IS NULL AND parked_at IS NULL;
CREATE TABLE outbox_delivery (
    id              bigint PRIMARY KEY,
    published_at    timestamptz NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset    bigint NOT NULL
);
CREATE FUNCTION outbox_queue_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox_queue (id, shard, aggregate_id, next_attempt_at)
    SELECT id, shard, aggregate_id, next_attempt_at FROM inserted WHERE published_at IS NULL AND parked_at IS NULL;
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_queue_insert AFTER INSERT ON outbox REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_queue_insert();
DROP INDEX outbox_unpublished_idx, outbox_backoff_idx, outbox_published_idx, outbox_parked_idx;
