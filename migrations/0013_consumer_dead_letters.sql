-- Records a consumer could neither apply nor write to <topic>.dlq because Kafka refused the dead
-- letter for good (too large with the added headers, the topic missing or not writable): kept
-- whole here, so the consumer moves on and the partition is never stopped by one record. A dead
-- letter Kafka merely could not take now (brokers down) is retried, never kept here.
-- Operators read and delete these rows (README "Consumers"); nothing else does.
CREATE TABLE consumer_dead_letters (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consumer        text NOT NULL,
    topic           text NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset    bigint NOT NULL,
    key             bytea NOT NULL,
    value           bytea,            -- NULL: the record was a tombstone
    header_names    text[] NOT NULL,  -- the record's headers, in order (names and values pair up)
    header_values   bytea[] NOT NULL,
    attempts        integer NOT NULL, -- handler attempts (0: not a task event)
    reason          text NOT NULL,    -- why the consumer did not apply it
    dlq_error       text NOT NULL,    -- why <topic>.dlq refused it
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (cardinality(header_names) = cardinality(header_values))
);
CREATE INDEX consumer_dead_letters_source_idx ON consumer_dead_letters (consumer, topic, kafka_partition, kafka_offset);
