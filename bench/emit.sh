#!/usr/bin/env bash
# make bench-emit: what outbox_emit costs a writer (issue #16: >= 0.95x the plain INSERT), and what a
# table-less event saves it (issue #27: outbox_emit_message >= 1.3x the plain INSERT). pgbench runs a
# writer's transaction (one business row, then its event) with outbox_emit, with the equivalent INSERT
# INTO outbox and with outbox_emit_message, alternating ROUNDS times each on one throwaway cluster
# (wal_level=logical, a registered pgoutput slot that nobody reads during the rounds, as a stopped
# relay's would be), and compares the medians. Afterwards the slot is read: one message per order
# that has no row.
# Commits are asynchronous (synchronous_commit=off), so the statements' CPU, not the WAL flush, sets the
# pace: the difference the function makes is not hidden behind fsync.
#
#   bench/emit.sh                     (after `make build`; `make bench-emit` does both)
#   DURATION=30s ROUNDS=5 CONNECTIONS=8 bench/emit.sh
#
# Summary appended to bench/results/emit.txt. Environment: DURATION (per round, default 15s),
# ROUNDS (default 3), CONNECTIONS (default 8), PGBIN (default /usr/lib/postgresql/15/bin).
set -euo pipefail
name=emit.sh
source "$(dirname "$0")/lib.sh"

DURATION=${DURATION:-15s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-8}
seconds=$(seconds_of DURATION "$DURATION")
[[ $ROUNDS =~ ^[0-9]+$ ]] && [ "$ROUNDS" -ge 1 ] || die "ROUNDS must be an integer >= 1 (got '$ROUNDS')"
[[ $CONNECTIONS =~ ^[0-9]+$ ]] && [ "$CONNECTIONS" -ge 1 ] || die "CONNECTIONS must be an integer >= 1 (got '$CONNECTIONS')"

PG_SETTINGS="-c wal_level=logical" bench_start_cluster
sql_value "CREATE PUBLICATION outboxd_bench FOR TABLE outbox (id) WITH (publish = 'insert')" >/dev/null
sql_value "SELECT pg_create_logical_replication_slot('outboxd_bench', 'pgoutput')" >/dev/null
sql_value "INSERT INTO outbox_wal_slots (slot_name) VALUES ('outboxd_bench')" >/dev/null
sql_value "CREATE TABLE bench_orders (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), customer integer NOT NULL,
                                      total numeric(12, 2) NOT NULL)" >/dev/null

declare -A tps_list
problems=()
cmd() { echo "PGOPTIONS='-c synchronous_commit=off' pgbench -n -M prepared -c $CONNECTIONS -j 2 -T $seconds -f bench/emit_$1.pgbench.sql"; }
for round in $(seq 1 "$ROUNDS"); do
  for variant in function insert message; do
    sql_value "CHECKPOINT" >/dev/null
    echo "\$ $(cmd $variant)   (round $round)" >&2
    PGOPTIONS='-c synchronous_commit=off' run_child "$pgbench" -n -M prepared -c "$CONNECTIONS" -j 2 -T "$seconds" \
      -f "bench/emit_$variant.pgbench.sql" "$DATABASE_URL" >"$dir/$variant.out" 2>"$dir/$variant.err" \
      || { cat "$dir/$variant.out" "$dir/$variant.err" >&2; die "pgbench ($variant) failed"; }
    tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$dir/$variant.out")
    failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$dir/$variant.out")
    [ -n "$tps" ] || { cat "$dir/$variant.out" >&2; die "could not parse pgbench's output"; }
    [ "${failed:-0}" = 0 ] || problems+=("$variant round $round: $failed failed transactions")
    echo "$variant round $round: $tps tps" >&2
    tps_list[$variant]+="$tps "
  done
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
f=$(median "${tps_list[function]}"); i=$(median "${tps_list[insert]}"); m=$(median "${tps_list[message]}")
ratio=$(awk -v a="$f" -v b="$i" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.95 ? "met" : "not met") }')
message_ratio=$(awk -v a="$m" -v b="$i" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
message_verdict=$(awk -v r="$message_ratio" 'BEGIN { print (r >= 1.3 ? "met" : "not met") }')

# Checks: every order has its event, and each event names its order.
orders=$(sql_value "SELECT count(*) FROM bench_orders")
events=$(sql_value "SELECT count(*) FROM outbox")
# The slot's messages ('M') with the event prefix: PostgreSQL decodes them as the relay would read them.
# Asynchronous commits reach the WAL on disk within wal_writer_delay; decoding reads only what is flushed.
sql_value "CHECKPOINT" >/dev/null
messages=$(sql_value "SELECT count(*) FROM pg_logical_slot_get_binary_changes('outboxd_bench', NULL, NULL, 'proto_version', '1',
  'publication_names', 'outboxd_bench', 'messages', 'true') WHERE get_byte(data, 0) = 77 AND position('\\x6f7574626f78642e6576656e742e763100'::bytea IN data) > 0")
orphans=$(sql_value "SELECT count(*) FROM outbox o LEFT JOIN bench_orders b ON b.id::text = o.aggregate_id
  WHERE b.id IS NULL OR o.payload->>'order_id' IS DISTINCT FROM o.aggregate_id")
[ "$orders" = "$((events + messages))" ] || problems+=("ROWS MISMATCH: orders=$orders events=$events messages=$messages")
[ "$orphans" = 0 ] || problems+=("$orphans events do not match their order")

lines=(
  "writer transaction (business row + event), $CONNECTIONS connections, $ROUNDS rounds of $DURATION each, alternating: outbox_emit median $(printf '%.0f' "$f") tps (rounds: ${tps_list[function]% }); plain INSERT median $(printf '%.0f' "$i") tps (rounds: ${tps_list[insert]% }); ratio $ratio (target >= 0.95: $verdict)"
  "table-less: outbox_emit_message median $(printf '%.0f' "$m") tps (rounds: ${tps_list[message]% }); ratio to the plain INSERT $message_ratio (target >= 1.3: $message_verdict)"
  "rows: orders=$orders events=$events messages=$messages mismatched=$orphans"
)
{
  bench_header "DURATION=$DURATION ROUNDS=$ROUNDS CONNECTIONS=$CONNECTIONS"
  printf '%s\n' "${lines[@]}"
  for p in "${problems[@]}"; do echo "FAILED: $p"; done
  echo "cmd: $(cmd function)"
  echo "cmd: $(cmd insert)"
  echo "cmd: $(cmd message)"
  echo
} | bench_record emit
bench_finish emit
