#!/usr/bin/env bash
# make bench-emit: what outbox_emit costs a writer (issue #16: >= 0.95x the plain INSERT). pgbench runs
# a writer's transaction (one business row, then its event) with outbox_emit and with the equivalent
# INSERT INTO outbox, alternating ROUNDS times each on one throwaway cluster, and compares the medians.
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

bench_start_cluster
sql_value "CREATE TABLE bench_orders (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), customer integer NOT NULL,
                                      total numeric(12, 2) NOT NULL)" >/dev/null

declare -A tps_list
problems=()
cmd() { echo "PGOPTIONS='-c synchronous_commit=off' pgbench -n -M prepared -c $CONNECTIONS -j 2 -T $seconds -f bench/emit_$1.pgbench.sql"; }
for round in $(seq 1 "$ROUNDS"); do
  for variant in function insert; do
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
f=$(median "${tps_list[function]}"); i=$(median "${tps_list[insert]}")
ratio=$(awk -v a="$f" -v b="$i" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.95 ? "met" : "not met") }')

# Checks: every order has its event, and each event names its order.
orders=$(sql_value "SELECT count(*) FROM bench_orders")
events=$(sql_value "SELECT count(*) FROM outbox")
orphans=$(sql_value "SELECT count(*) FROM outbox o LEFT JOIN bench_orders b ON b.id::text = o.aggregate_id
  WHERE b.id IS NULL OR o.payload->>'order_id' IS DISTINCT FROM o.aggregate_id")
[ "$orders" = "$events" ] || problems+=("ROWS MISMATCH: orders=$orders events=$events")
[ "$orphans" = 0 ] || problems+=("$orphans events do not match their order")

lines=(
  "writer transaction (business row + event), $CONNECTIONS connections, $ROUNDS rounds of $DURATION each, alternating: outbox_emit median $(printf '%.0f' "$f") tps (rounds: ${tps_list[function]% }); plain INSERT median $(printf '%.0f' "$i") tps (rounds: ${tps_list[insert]% }); ratio $ratio (target >= 0.95: $verdict)"
  "rows: orders=$orders events=$events mismatched=$orphans"
)
{
  bench_header "DURATION=$DURATION ROUNDS=$ROUNDS CONNECTIONS=$CONNECTIONS"
  printf '%s\n' "${lines[@]}"
  for p in "${problems[@]}"; do echo "FAILED: $p"; done
  echo "cmd: $(cmd function)"
  echo "cmd: $(cmd insert)"
  echo
} | bench_record emit
bench_finish emit
