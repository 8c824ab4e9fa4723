#!/usr/bin/env bash
# Recorded server bytes for PgOutputDecoderTests (issue #27): pgoutput's messages for a fixed set
# of changes, as PostgreSQL 15 writes them, from a throwaway cluster with wal_level=logical, read
# with pg_logical_slot_peek_binary_changes (the bytes a replication connection's XLogData carries).
# Written to Tests/Fixtures/pgoutput/changes.txt, one message per line: "<LSN> <hex>". Run it again
# after changing the changes below.
#   scripts/pgoutput-fixture.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=.data/pgoutput-fixture
OUT=Tests/Fixtures/pgoutput/changes.txt
cleanup() { scripts/pg.sh stop "$DATA" immediate; rm -rf "$DATA"; }
rm -rf "$DATA"
trap cleanup EXIT
url=$(PG_SETTINGS="-c wal_level=logical" scripts/pg.sh start "$DATA")

psql "$url" -v ON_ERROR_STOP=1 -q <<'SQL'
CREATE TABLE events (id bigint PRIMARY KEY, key text NOT NULL, payload jsonb, body text, raw bytea, at timestamptz, n integer);
ALTER TABLE events ALTER COLUMN body SET STORAGE EXTERNAL;
CREATE TABLE audit (id bigint, note text);
ALTER TABLE audit REPLICA IDENTITY FULL;
CREATE PUBLICATION fixture FOR TABLE events, audit;
SELECT pg_create_logical_replication_slot('fixture', 'pgoutput');
BEGIN;
INSERT INTO events VALUES (1, 'order-1', '{"a": 1}', 'short', '\x00ff', '2026-01-02 03:04:05.123456+00', 42);
INSERT INTO events VALUES (2, 'ключ-😀 "q" \', NULL, repeat('x', 10000), NULL, NULL, NULL);
COMMIT;
SELECT pg_logical_emit_message(true, 'outboxd', 'transactional');
SELECT pg_logical_emit_message(false, 'outboxd', convert_to('non-transactional é', 'UTF8'));
UPDATE events SET n = 7 WHERE id = 2;
UPDATE events SET id = 3 WHERE id = 1;
DELETE FROM events WHERE id = 3;
INSERT INTO audit VALUES (1, 'a'), (2, NULL);
UPDATE audit SET note = 'b' WHERE id = 1;
DELETE FROM audit WHERE id = 2;
TRUNCATE audit;
SQL
psql "$url" -v ON_ERROR_STOP=1 -Atq -F ' ' -c "
  SELECT lsn, encode(data, 'hex') FROM pg_logical_slot_peek_binary_changes('fixture', NULL, NULL,
      'proto_version', '1', 'publication_names', 'fixture', 'messages', 'true')" > "$OUT"
echo "$OUT: $(wc -l < "$OUT") messages"
